/**
 * @module
 * `npm run bench:profile -- <scenario id> [seconds]`: runs the Deno bench server under one
 * scenario's load with V8's sampling profiler attached over the inspector, prints the functions
 * with the most self time on the isolate's thread and writes the profile to bench/.out/ (open it
 * in Chrome DevTools). Deno only: Miniflare's inspector proxy reset the connection under load.
 * Binds 127.0.0.1 only and stops by itself.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { runScenario, scenarios } from './load.ts'
import { freePort } from './processes.ts'
import type { BenchServer } from './processes.ts'

const ROOT = resolve(import.meta.dirname, '..')
const OUT = join(ROOT, 'bench/.out')
const [id, seconds = '3'] = process.argv.slice(2)
const scenario = scenarios(true).find((candidate) => candidate.id === id && !candidate.workerdOnly)
if (!scenario) throw new Error(`usage: npm run bench:profile -- <${scenarios(true).filter((s) => !s.workerdOnly).map((s) => s.id).join('|')}> [seconds]`)
mkdirSync(OUT, { recursive: true })

const inspectorPort = await freePort()
const child = spawn(join(ROOT, 'node_modules/.bin/deno'), ['run', `--inspect=127.0.0.1:${inspectorPort}`, '--allow-net', '--allow-env', '--allow-read', join(ROOT, 'bench/deno.ts')], {
  stdio: ['pipe', 'pipe', 'pipe'],
  env: { ...process.env, NO_COLOR: '1' },
})
const timeout = setTimeout(() => child.kill('SIGKILL'), 120_000)
try {
  child.stderr.on('data', () => {})
  const first = await new Promise<string>((found) => child.stdout.once('data', (data: Buffer) => found(String(data))))
  child.stdout.on('data', () => {})
  const { url, pid } = JSON.parse(first.split('\n')[0]!) as { url: string; pid: number }
  const server = { url, pid, child } as unknown as BenchServer
  const [target] = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as { webSocketDebuggerUrl: string }[]
  if (!target) throw new Error('the Deno inspector lists no target')
  const socket = new WebSocket(target.webSocketDebuggerUrl)
  await new Promise((open) => socket.addEventListener('open', open, { once: true }))
  let lastId = 0
  const replies = new Map<number, (result: unknown) => void>()
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown }
    if (message.id !== undefined) replies.get(message.id)?.(message.result)
  })
  const send = <T>(method: string, params = {}) => new Promise<T>((reply) => {
    replies.set(++lastId, reply as (result: unknown) => void)
    socket.send(JSON.stringify({ id: lastId, method, params }))
  })
  const options = { connections: 32, seconds: Number(seconds), amount: 3000, ticksPerSecond: 100, tag: 'p' }
  await runScenario(server, scenario, { ...options, seconds: 0.5, amount: 300, tag: 'w' })
  await send('Profiler.enable')
  await send('Profiler.setSamplingInterval', { interval: 100 })
  await send('Profiler.start')
  await runScenario(server, scenario, options)
  type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }
  const { profile } = await send<{ profile: { nodes: Node[]; samples: number[] } }>('Profiler.stop')
  writeFileSync(join(OUT, `deno-${id}.cpuprofile`), JSON.stringify(profile))
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const self = new Map<string, number>()
  for (const sample of profile.samples) {
    const { functionName, url: file, lineNumber } = byId.get(sample)!.callFrame
    const name = `${functionName || '(anonymous)'} ${file.split('/').slice(-2).join('/')}:${lineNumber + 1}`
    self.set(name, (self.get(name) ?? 0) + 1)
  }
  const busy = profile.samples.length - (self.get('(idle) :0') ?? 0)
  console.log(`self time, % of busy samples (${busy} of ${profile.samples.length}):`)
  for (const [name, count] of [...self].filter(([name]) => name !== '(idle) :0').sort((a, b) => b[1] - a[1]).slice(0, 35)) console.log(`${((100 * count) / busy).toFixed(1).padStart(5)}  ${name}`)
  socket.close()
} finally {
  clearTimeout(timeout)
  child.stdin.end()
  child.kill('SIGTERM')
}
