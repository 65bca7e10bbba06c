/**
 * @module
 * Runs `unity-login` as a real process for the e2e tests: built once with `npm run build`, each
 * run with its own config directory and, when asked, a private D-Bus session bus with a real
 * Secret Service (gnome-keyring-daemon) holding the OS keyring.
 */
import { execFileSync, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT } from './harness.ts'

/** The built executable `npx unity-login` runs. */
export const CLI_BIN = join(ROOT, 'dist', 'cli', 'bin.js')

/** Builds dist/ as `npm install` (prepare) does, so the tests run what users run. */
export function buildCli(): void {
  execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' })
}

/** Debian packages the keyring and terminal tests need; `.ci/run` installs them. */
export const TOOLS = {
  'dbus-daemon': '/usr/bin/dbus-daemon',
  'gnome-keyring-daemon': '/usr/bin/gnome-keyring-daemon',
  'secret-tool': '/usr/bin/secret-tool',
  tmux: '/usr/bin/tmux',
  python3: '/usr/bin/python3',
} as const

/** Why a test needing `tools` cannot run here, or `false`; in CI a missing tool fails instead. */
export function missing(...tools: ReadonlyArray<keyof typeof TOOLS>): string | false {
  const absent = tools.filter((tool) => !existsSync(TOOLS[tool]))
  if (absent.length === 0) return false
  const message = `needs ${absent.join(', ')}: apt-get install -y dbus-daemon gnome-keyring libsecret-tools tmux python3-requests`
  if (process.env.CI) throw new Error(`CI must install the e2e tools (${message})`)
  return message
}

/** A private session bus with an unlocked gnome-keyring Secret Service on it. */
export interface SecretService {
  /** Environment for processes that should see this keyring. */
  readonly env: Readonly<Record<string, string>>
  /** `secret-tool lookup` of unity-login's entry for `relay`, or '' when there is none. */
  lookup(relay: string): string
  stop(): Promise<void>
}

/** Starts `dbus-daemon --session` and `gnome-keyring-daemon --unlock --components=secrets` in a fresh HOME. */
export async function startSecretService(): Promise<SecretService> {
  const home = await mkdtemp(join(tmpdir(), 'uor-keyring-'))
  const bus = spawn(TOOLS['dbus-daemon'], ['--session', '--nofork', '--nopidfile', '--print-address=1'], { stdio: ['ignore', 'pipe', 'ignore'], detached: true })
  const address = await new Promise<string>((resolve, reject) => {
    let out = ''
    bus.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('\n')) resolve(out.trim())
    })
    bus.once('exit', (code) => reject(new Error(`dbus-daemon exited (${code})`)))
  })
  const env = { HOME: home, XDG_DATA_HOME: join(home, 'data'), XDG_RUNTIME_DIR: home, DBUS_SESSION_BUS_ADDRESS: address }
  // --unlock reads the login keyring's password from stdin and creates that keyring unlocked; the
  // daemon forks and lives until the bus goes away. Started before any client, so D-Bus
  // activation never starts a second, locked one.
  execFileSync(TOOLS['gnome-keyring-daemon'], ['--daemonize', '--unlock', '--components=secrets'], {
    input: 'e2e-keyring-password',
    env: { ...process.env, ...env },
    stdio: ['pipe', 'ignore', 'ignore'],
    timeout: 10_000,
  })
  const kill = (child: ChildProcess) => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGTERM')
    } catch {
      // Already gone.
    }
  }
  return {
    env,
    lookup(relay) {
      try {
        return execFileSync(TOOLS['secret-tool'], ['lookup', 'service', 'unity-login', 'username', relay], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 5_000 })
      } catch {
        return ''
      }
    },
    async stop() {
      kill(bus)
      await rm(home, { recursive: true, force: true })
    },
  }
}

/** One `unity-login` process. */
export interface CliRun {
  readonly child: ChildProcess
  /** Everything written so far. */
  stdout(): string
  stderr(): string
  /** Resolves once stderr matches `pattern`, with the match. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>
  /** The exit code. */
  readonly exited: Promise<number>
}

/** Spawns `node dist/cli/bin.js …args` with `env` on top of a clean environment (no display, no CI terminal). */
export function startCli(args: readonly string[], env: Readonly<Record<string, string | undefined>>): CliRun {
  const base: Record<string, string | undefined> = { PATH: process.env.PATH, LANG: 'C.UTF-8' }
  const child = spawn(process.execPath, [CLI_BIN, ...args], {
    cwd: ROOT,
    env: Object.fromEntries(Object.entries({ ...base, ...env }).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  const waiters: Array<() => void> = []
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString()
    for (const wake of waiters.splice(0)) wake()
  })
  const exited = new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : -1))))
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(err)
          if (match) return resolve(match)
          if (Date.now() > deadline || child.exitCode !== null) return reject(new Error(`unity-login never printed ${pattern} (exit ${child.exitCode}); stderr:\n${err}\nstdout:\n${out}`))
          waiters.push(check)
          setTimeout(check, 250)
        }
        check()
      })
    },
  }
}

/** Runs `unity-login …args` to the end. */
export async function runCli(args: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<{ code: number; stdout: string; stderr: string }> {
  const run = startCli(args, env)
  const code = await run.exited
  return { code, stdout: run.stdout(), stderr: run.stderr() }
}

/** A tmux server of its own (its own socket) with one window running a command. */
export interface TmuxPane {
  /** The visible screen, as `capture-pane -p` prints it. */
  screen(): string
  /** Resolves once the screen matches `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>
  keys(...keys: string[]): void
  stop(): void
}

/** Runs `command` (a shell line) in a 200×30 tmux window with `env`, as a user's terminal would. */
export function startTmux(command: string, env: Readonly<Record<string, string>>): TmuxPane {
  const socket = join(tmpdir(), `uor-tmux-${process.pid}-${Date.now()}`)
  // The tmux server inherits this environment: without CI, as on a user's machine (the spinner stays off under CI).
  const { CI: _ci, ...outside } = process.env
  const tmux = (...args: string[]) => execFileSync(TOOLS.tmux, ['-S', socket, ...args], { encoding: 'utf8', timeout: 5_000, env: outside })
  const vars = Object.entries({ TERM: 'xterm-256color', LANG: 'C.UTF-8', ...env }).flatMap(([name, value]) => ['-e', `${name}=${value}`])
  tmux('-f', '/dev/null', 'new-session', '-d', '-s', 'cli', '-x', '200', '-y', '30', ...vars, `cd ${JSON.stringify(ROOT)} && ${command}; echo "exit=$?"; sleep 600`)
  const screen = () => tmux('capture-pane', '-p', '-t', 'cli')
  return {
    screen,
    async waitFor(pattern, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const shown = screen()
        if (pattern.test(shown)) return shown
        if (Date.now() > deadline) throw new Error(`the terminal never showed ${pattern}; it shows:\n${shown}`)
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    },
    keys: (...keys) => void tmux('send-keys', '-t', 'cli', ...keys),
    stop() {
      try {
        tmux('kill-server')
      } catch {
        // Already gone.
      }
    },
  }
}
