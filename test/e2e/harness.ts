/**
 * @module
 * E2E harness: the Unity stand-in in-process, relays under `wrangler dev` exactly as `npm start`
 * runs them (workerd, local KV), and Debian's Chromium through playwright-core. Every process it
 * starts is its own process group and is killed on teardown, on a failed start and on exit.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { IncomingHttpHeaders, Server } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before } from 'node:test'
import { fileURLToPath } from 'node:url'
import { parseEnv } from 'node:util'
import { chromium } from 'playwright-core'
import type { Browser } from 'playwright-core'
import { wranglerDevArgs } from '../../dev/start.ts'
import { startUnityStandin, UNITY_STANDIN_CLIENTS } from '../../dev/unity-standin.ts'
import type { UnityStandin } from '../../dev/unity-standin.ts'

/** The repository root, where `wrangler dev` must run. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** Screenshots land here (gitignored). */
export const ARTIFACTS_DIR = join(ROOT, 'test-results', 'e2e')

/** Debian's Chromium; the tests never download a browser. Override with `E2E_CHROMIUM`. */
export const CHROMIUM_PATH = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium'

/**
 * Relay ports, one per configuration. All are among the stand-in's pre-registered redirect URIs
 * (8787–8796) and clear of `npm start` (8787), the return_to origin in dev/dev.vars (8790), the
 * Durable Object scenario (8791) and the load test (8792).
 */
export const RELAY_PORTS = { basic: 8794, post: 8795, wrongIssuer: 8796, durableObject: 8791, device: 8793, deno: 8788 } as const

/** dev/dev.vars allowlists this origin for `return_to`. */
export const RETURN_TO_PORT = 8790

/** A registered stand-in client. */
export type StandinClient = (typeof UNITY_STANDIN_CLIENTS)[number]

export const BASIC_CLIENT: StandinClient = UNITY_STANDIN_CLIENTS[0]
export const POST_CLIENT: StandinClient = UNITY_STANDIN_CLIENTS[1]

const RELAY_START_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 5_000
const OUTPUT_TAIL_CHARS = 4_000

/** Every process group the harness started and has not stopped: killed on exit. */
export const running = new Set<ChildProcess>()

/** Sends `signal` to `child`'s whole process group, if it still runs. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    // The group is already gone.
  }
}

// Last resort if a test process dies without its after hooks: no wrangler or workerd is left behind.
process.once('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL')
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const child of running) killGroup(child, 'SIGKILL')
    process.exit(130)
  })
}

/** Starts the stand-in on a free loopback port, so a running `npm start` (port 9000) does not clash. */
export function startStandin(): Promise<UnityStandin> {
  return startUnityStandin({ port: 0, host: '127.0.0.1' })
}

/** A relay under `wrangler dev`. */
export interface RelayProcess {
  /** e.g. `http://127.0.0.1:8794` */
  readonly url: string
  /** The last few kB of wrangler's output, for failure messages. */
  output(): string
  /** The process group's leader (wrangler, or deno): its group holds workerd too. */
  readonly pid: number
  stop(): Promise<void>
}

/** Options of {@link startRelay}. */
export interface RelayOptions {
  readonly port: number
  readonly standin: UnityStandin
  /** `--var NAME:VALUE` overrides on top of dev/dev.vars (UNITY_URL and UNITY_ISSUER point at the stand-in). */
  readonly vars?: Readonly<Record<string, string>>
  /** Local storage to use and keep (a restart of the same relay); default a fresh directory, removed on stop. */
  readonly persistTo?: string
}

/**
 * Spawns `wrangler dev` with the arguments `npm start` uses (dev/start.ts), its own local KV
 * directory, and per-scenario `--var` overrides; resolves once `/healthz` answers 200.
 */
export async function startRelay({ port, standin, vars = {}, persistTo }: RelayOptions): Promise<RelayProcess> {
  await assertPortFree(port)
  const persistDir = persistTo ?? (await mkdtemp(join(tmpdir(), 'uor-e2e-kv-')))
  const overrides = { UNITY_URL: standin.url, UNITY_ISSUER: standin.issuer, ...vars }
  const extra = ['--persist-to', persistDir, ...Object.entries(overrides).flatMap(([name, value]) => ['--var', `${name}:${value}`])]
  const child = spawn(join(ROOT, 'node_modules', '.bin', 'wrangler'), wranglerDevArgs(port, extra), {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      // The wrangler launcher needs Node 24: put the node running the tests first.
      PATH: `${dirname(process.execPath)}:${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
      WRANGLER_SEND_METRICS: 'false',
      NO_COLOR: '1',
    },
  })
  running.add(child)
  let tail = ''
  const record = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-OUTPUT_TAIL_CHARS)
  }
  child.stdout?.on('data', record)
  child.stderr?.on('data', record)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))

  const url = `http://127.0.0.1:${port}`
  const stop = async () => {
    killGroup(child, 'SIGTERM')
    const stopped = await Promise.race([exited.then(() => true), delay(STOP_TIMEOUT_MS).then(() => false)])
    if (!stopped) {
      killGroup(child, 'SIGKILL')
      await Promise.race([exited, delay(STOP_TIMEOUT_MS)])
    }
    running.delete(child)
    if (persistTo === undefined) await rm(persistDir, { recursive: true, force: true })
  }

  try {
    await waitForHealth(url, child, RELAY_START_TIMEOUT_MS)
  } catch (error) {
    await stop()
    throw new Error(`${(error as Error).message}\n--- wrangler output (tail) ---\n${tail}`)
  }
  return { url, output: () => tail, pid: child.pid ?? 0, stop }
}

/**
 * Runs src/deno.ts (Deno KV in memory) on `port` with dev/dev.vars and `vars` as its environment,
 * as `npm run start:deno` would; resolves once `/healthz` answers 200.
 */
export async function startDenoRelay({ port, standin, vars = {} }: Omit<RelayOptions, 'persistTo'>): Promise<RelayProcess> {
  await assertPortFree(port)
  const settings = parseEnv(await readFile(join(ROOT, 'dev', 'dev.vars'), 'utf8'))
  const child = spawn(join(ROOT, 'node_modules', '.bin', 'deno'), ['run', '--allow-net', '--allow-env', join(ROOT, 'src', 'deno.ts')], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_COLOR: '1', ...settings, UNITY_URL: standin.url, UNITY_ISSUER: standin.issuer, PORT: String(port), DENO_KV_PATH: ':memory:', ...vars },
  })
  running.add(child)
  let tail = ''
  const record = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-OUTPUT_TAIL_CHARS)
  }
  child.stdout?.on('data', record)
  child.stderr?.on('data', record)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = `http://127.0.0.1:${port}`
  const stop = async () => {
    killGroup(child, 'SIGKILL')
    await Promise.race([exited, delay(STOP_TIMEOUT_MS)])
    running.delete(child)
  }
  try {
    await waitForHealth(url, child, RELAY_START_TIMEOUT_MS)
  } catch (error) {
    await stop()
    throw new Error(`${(error as Error).message}\n--- deno output (tail) ---\n${tail}`)
  }
  return { url, output: () => tail, pid: child.pid ?? 0, stop }
}

/** Waits until `url`'s `/healthz` answers 200, failing if `child` (when given) exits first. */
export async function waitForHealth(url: string, child: ChildProcess | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`the relay at ${url} exited (${child?.exitCode ?? child?.signalCode}) before /healthz answered`)
    }
    try {
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) })
      if (response.status === 200) return
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`the relay at ${url} did not answer /healthz 200 within ${timeoutMs / 1000} s`)
    await delay(250)
  }
}

async function assertPortFree(port: number): Promise<void> {
  const probe = createServer()
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (error) => reject(new Error(`127.0.0.1:${port} is in use; the e2e tests need it (${(error as Error).message})`)))
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()))
  })
}

/** Launches Debian's Chromium headless. */
export function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`No Chromium at ${CHROMIUM_PATH}: run \`apt-get install -y chromium\` (Debian) or set E2E_CHROMIUM`)
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    timeout: 30_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
  })
}

/** A request the app's `return_to` page received. */
export interface ReceivedRequest {
  readonly url: string
  readonly headers: IncomingHttpHeaders
}

/** A tiny static "app" page on the allowlisted return_to origin. */
export interface AppPage {
  readonly origin: string
  readonly requests: readonly ReceivedRequest[]
  close(): Promise<void>
}

/** Serves a plain page on 127.0.0.1:{@link RETURN_TO_PORT} and records what it was asked for. */
export async function startAppPage(): Promise<AppPage> {
  const requests: ReceivedRequest[] = []
  const server: Server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', headers: req.headers })
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end('<!doctype html><title>Example app</title><h1>Back in the app</h1>')
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(RETURN_TO_PORT, '127.0.0.1', () => resolve())
  })
  return {
    origin: `http://127.0.0.1:${RETURN_TO_PORT}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** A page server on another loopback origin, playing an attacker's web site. */
export interface AttackerSite {
  readonly origin: string
  close(): Promise<void>
}

/** Serves each path's HTML on a free 127.0.0.1 port: same site as the relay, another origin. */
export async function startAttackerSite(pages: Readonly<Record<string, string>>): Promise<AttackerSite> {
  const server = createServer((req, res) => {
    const body = pages[req.url ?? '']
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'text/html; charset=utf-8' })
    res.end(`<!doctype html><title>Win a prize</title>${body ?? ''}`)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as { port: number }
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/**
 * Waits for every start to settle, then rethrows the first failure. Unlike `Promise.all`, nothing is
 * still starting when `after` runs, so whatever did start gets stopped.
 */
export async function allStarted(starts: ReadonlyArray<Promise<unknown>>): Promise<void> {
  const failure = (await Promise.allSettled(starts)).find((result) => result.status === 'rejected')
  if (failure) throw failure.reason
}

/** Closes everything that was started, ignoring what is already gone; never throws. */
export async function closeAll(...closers: ReadonlyArray<(() => Promise<unknown>) | undefined>): Promise<void> {
  await Promise.allSettled(closers.map((close) => (close ? close() : undefined)))
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** What one e2e file runs against: the stand-in, one relay and Chromium. */
export interface Scenario {
  readonly standin: UnityStandin
  readonly relay: RelayProcess
  readonly browser: Browser
}

/**
 * Registers the file's `before` and `after` hooks: they start the stand-in, one relay on `port`
 * with `vars`, and Chromium, and tear them all down. The returned function gives them to a test.
 */
export function useScenario(port: number, vars: Readonly<Record<string, string>> = {}): () => Scenario {
  let standin: UnityStandin | undefined
  let relay: RelayProcess | undefined
  let browser: Browser | undefined
  before(async () => {
    standin = await startStandin()
    const started = standin
    await allStarted([startRelay({ port, standin: started, vars }).then((r) => (relay = r)), launchBrowser().then((b) => (browser = b))])
  }, { timeout: 120_000 })
  after(() => closeAll(() => browser?.close() ?? Promise.resolve(), relay?.stop, standin?.close))
  return () => {
    assert.ok(standin && relay && browser, 'the harness started')
    return { standin, relay, browser }
  }
}
