/**
 * @module
 * Child processes for the bench: each runs in its own process group, so killing the group also
 * ends the grandchildren (Miniflare's workerd). Every group started here is killed on exit, on a
 * signal and on a failure.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess, SpawnOptions } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

const groups = new Set<number>()

/** Kills every process group started by {@link startGroup}. */
export function killAll(): void {
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL')
    } catch {
      // Already gone.
    }
  }
  groups.clear()
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    killAll()
    process.exit(130)
  })
}
process.on('exit', killAll)

/** Starts a command as the leader of a new process group. */
export function startGroup(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(command, args, { ...options, detached: true })
  if (child.pid !== undefined) groups.add(child.pid)
  child.on('exit', () => {
    if (child.pid !== undefined) groups.delete(child.pid)
  })
  return child
}

/** Kills one group and waits (briefly) for its leader to exit. */
export async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  try {
    process.kill(-child.pid, 'SIGKILL')
  } catch {
    return
  }
  groups.delete(child.pid)
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000))])
}

/** A server the bench drives: its base URL and the pid whose CPU time is measured. */
export interface BenchServer {
  readonly url: string
  readonly pid: number
  readonly child: ChildProcess
}

/**
 * Starts a bench server that prints `{"url","pid"}` as its first stdout line, and keeps draining
 * its output (the relay's log lines) so it never blocks on a full pipe.
 */
export function startServer(command: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<BenchServer> {
  const child = startGroup(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env })
  return new Promise((resolve, reject) => {
    let buffered = ''
    let errors = ''
    const timer = setTimeout(() => fail(new Error(`${args.join(' ')} did not start in ${timeoutMs} ms: ${errors.slice(-2000)}`)), timeoutMs)
    const fail = (error: Error) => {
      clearTimeout(timer)
      void stopGroup(child)
      reject(error)
    }
    child.stderr?.on('data', (chunk: Buffer) => {
      errors = (errors + chunk.toString()).slice(-4000)
    })
    child.on('exit', (code) => fail(new Error(`${args.join(' ')} exited with ${code}: ${errors.slice(-2000)}`)))
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString()
      const newline = buffered.indexOf('\n')
      if (newline < 0) return
      child.stdout?.off('data', onData)
      child.stdout?.on('data', () => {})
      clearTimeout(timer)
      child.removeAllListeners('exit')
      try {
        const { url, pid } = JSON.parse(buffered.slice(0, newline)) as { url: string; pid: number }
        resolve({ url, pid, child })
      } catch {
        fail(new Error(`unexpected first line from ${args.join(' ')}: ${buffered.slice(0, 200)}`))
      }
    }
    child.stdout?.on('data', onData)
  })
}

/** On-CPU time of a process (all its threads, user + system), in microseconds, from /proc/<pid>/stat. */
export function cpuMicros(pid: number, ticksPerSecond: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // Fields 14 and 15 of proc(5) (utime, stime), counted after the command name.
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / ticksPerSecond
}

/** A free TCP port on 127.0.0.1, for a process that cannot report the port it bound. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}
