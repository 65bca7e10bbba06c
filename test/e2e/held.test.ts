/**
 * @module
 * Held pickups end to end (issue 19's measurement): Chromium signs in and clicks Allow while the
 * app waits for its tokens, and the time from the callback's response (Chromium's own timing) to
 * the app holding the tokens is measured over HELD_LOGINS logins (default 20) in three cases:
 * polling every 2 s, held on Durable Objects (`wrangler dev`, CODE_STORE=durable-object) and held
 * on Deno KV (src/deno.ts). Unity's exchange is timed at a loopback proxy in front of the stand-in.
 * Prints the table and writes test-results/e2e/held-latency.json. Then the object is lost mid-hold:
 * the relay is restarted on the same storage while a pickup is held.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, request as httpRequest } from 'node:http'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { Browser } from 'playwright-core'
import { startLogin } from '../../dev/app.ts'
import type { UnityStandin } from '../../dev/unity-standin.ts'
import { newContext, signInFromLink } from './flow.ts'
import { ARTIFACTS_DIR, ROOT, allStarted, closeAll, delay, waitForHealth, launchBrowser, RELAY_PORTS, startDenoRelay, startRelay, startStandin } from './harness.ts'
import type { RelayProcess } from './harness.ts'

const LOGINS = Number(process.env.HELD_LOGINS ?? 20)
const POLL_INTERVAL_MS = 2000
const TEST = { timeout: 600_000 } as const

/** A loopback HTTP proxy in front of the stand-in that times each token call (Unity's exchange). */
interface TimingProxy {
  readonly url: string
  /** Milliseconds from a token call's request to the end of its response, in order. */
  readonly exchanges: number[]
  close(): Promise<void>
}

async function startTimingProxy(target: string): Promise<TimingProxy> {
  const exchanges: number[] = []
  const upstream = new URL(target)
  const server: Server = createServer((req, res) => {
    const started = performance.now()
    const forward = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
      answer.once('end', () => {
        if (req.method === 'POST' && req.url === '/api/oauth/token') exchanges.push(performance.now() - started)
      })
    })
    forward.once('error', () => res.destroy())
    req.pipe(forward)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    exchanges,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    }),
  }
}

/** The `p`th percentile (nearest rank) of `values`. */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
}

/** The app process (app-process.ts): each job's answer, by verifier. */
interface AppProcess {
  poll(relay: string, verifier: string, waitSeconds: number): Promise<{ ok: boolean; at: number }>
  stop(): void
}

function startAppProcess(): AppProcess {
  const child = spawn(process.execPath, [join(ROOT, 'test', 'e2e', 'app-process.ts')], { stdio: ['pipe', 'pipe', 'inherit'] })
  const waiting = new Map<string, (answer: { ok: boolean; at: number }) => void>()
  void (async () => {
    for await (const line of createInterface({ input: child.stdout })) {
      const answer = JSON.parse(line) as { verifier: string; ok: boolean; at: number }
      waiting.get(answer.verifier)?.(answer)
      waiting.delete(answer.verifier)
    }
  })()
  return {
    poll(relay, verifier, waitSeconds) {
      const answered = new Promise<{ ok: boolean; at: number }>((resolve) => waiting.set(verifier, resolve))
      child.stdin.write(`${JSON.stringify({ relay, verifier, waitSeconds, intervalMs: POLL_INTERVAL_MS })}\n`)
      return answered
    },
    stop: () => child.kill('SIGKILL'),
  }
}

/** One login: the app waits as `waitSeconds` says while Chromium signs in; ms from the callback's response to the tokens. */
async function timedLogin(browser: Browser, viaProxy: UnityStandin, relayUrl: string, waitSeconds: number): Promise<number> {
  assert.ok(app)
  const login = await startLogin({ relay: relayUrl })
  const polled = app.poll(relayUrl, login.verifier, waitSeconds)
  const context = await newContext(browser)
  try {
    const page = await context.newPage()
    const { request, response } = await signInFromLink(page, viaProxy, relayUrl, login)
    assert.equal(response.status(), 200)
    // Chromium's own clock of the callback's response, so the test process's load does not count.
    const timing = request.timing()
    const answer = await polled
    assert.ok(answer.ok, 'the app got its tokens')
    return answer.at - (timing.startTime + (timing.responseEnd >= 0 ? timing.responseEnd : timing.responseStart))
  } finally {
    await context.close()
  }
}

let app: AppProcess | undefined
let standin: UnityStandin | undefined
let proxy: TimingProxy | undefined
let durable: RelayProcess | undefined
let deno: RelayProcess | undefined
let browser: Browser | undefined
const persistDir = await mkdtemp(join(tmpdir(), 'uor-e2e-held-'))
const durableVars = () => ({ CODE_STORE: 'durable-object', UNITY_URL: proxy?.url ?? '' })

before(async () => {
  app = startAppProcess()
  standin = await startStandin()
  proxy = await startTimingProxy(standin.url)
  const started = standin
  await allStarted([
    startRelay({ port: RELAY_PORTS.durableObject, standin: started, vars: durableVars(), persistTo: persistDir }).then((relay) => (durable = relay)),
    startDenoRelay({ port: RELAY_PORTS.deno, standin: started, vars: { UNITY_URL: proxy.url } }).then((relay) => (deno = relay)),
    launchBrowser().then((launched) => (browser = launched)),
  ])
}, { timeout: 120_000 })
after(async () => {
  app?.stop()
  await closeAll(() => browser?.close() ?? Promise.resolve(), durable?.stop, deno?.stop, proxy?.close, standin?.close)
  await rm(persistDir, { recursive: true, force: true })
})

test(`1. ${LOGINS} logins each: tokens after the callback, polling every 2 s against held on Durable Objects and on Deno KV`, TEST, async () => {
  assert.ok(standin && proxy && durable && deno && browser)
  const cases = [
    { name: 'polling every 2 s (Durable Objects)', relay: durable.url, waitSeconds: 0 },
    { name: 'held, Prefer: wait=20 (Durable Objects)', relay: durable.url, waitSeconds: 20 },
    { name: 'held, Prefer: wait=20 (Deno KV)', relay: deno.url, waitSeconds: 20 },
  ]
  const rows: Record<string, number | string>[] = []
  for (const { name, relay, waitSeconds } of cases) {
    const latencies: number[] = []
    const firstExchange = proxy.exchanges.length
    // The browser reaches the stand-in through the proxy too (its interaction URLs are relative).
    const viaProxy = { ...standin, url: proxy.url }
    for (let index = 0; index < LOGINS; index++) latencies.push(await timedLogin(browser, viaProxy, relay, waitSeconds))
    const exchanges = proxy.exchanges.slice(firstExchange)
    assert.equal(exchanges.length, LOGINS, 'one exchange per login')
    rows.push({
      case: name,
      logins: LOGINS,
      'p50 ms': Math.round(percentile(latencies, 50)),
      'p99 ms': Math.round(percentile(latencies, 99)),
      'exchange p50 ms': Math.round(percentile(exchanges, 50)),
      'exchange p99 ms': Math.round(percentile(exchanges, 99)),
    })
  }
  for (const row of rows.slice(1)) {
    // Issue 19's targets: p50 within 100 ms of Unity's own exchange, p99 within 300 ms.
    row['target p50'] = Number(row['p50 ms']) <= Number(row['exchange p50 ms']) + 100 ? 'met' : 'missed'
    row['target p99'] = Number(row['p99 ms']) <= Number(row['exchange p99 ms']) + 300 ? 'met' : 'missed'
  }
  console.table(rows)
  await mkdir(ARTIFACTS_DIR, { recursive: true })
  await writeFile(join(ARTIFACTS_DIR, 'held-latency.json'), `${JSON.stringify({ measuredAt: new Date().toISOString(), rows }, null, 2)}\n`)
  const [polled, ...held] = rows as { 'p50 ms': number; 'p99 ms': number; 'exchange p50 ms': number }[]
  // The targets are reported, not asserted: on a shared machine one busy moment moves them. What
  // must hold is that a held pickup is answered about when Unity has answered, far from polling.
  for (const row of held) assert.ok(polled && row['p50 ms'] <= row['exchange p50 ms'] + 300 && row['p50 ms'] < polled['p50 ms'] / 4, JSON.stringify(row))
  // About half an interval, plus the exchange.
  assert.ok(polled && polled['p50 ms'] > POLL_INTERVAL_MS / 4, JSON.stringify(polled))
})

test('2. the relay reloads while a pickup is held (a code change: object and Worker restart): the client gets an answer, and its next poll works', TEST, async () => {
  assert.ok(standin && proxy && durable && browser)
  const login = await startLogin({ relay: durable.url })
  const form = new URLSearchParams({ grant_type: 'authorization_code', code_verifier: login.verifier })
  const held = fetch(`${durable.url}/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Prefer: 'wait=20' }, body: form }).then(
    async (response) => ({ status: response.status, applied: response.headers.get('Preference-Applied'), type: response.headers.get('Content-Type'), body: (await response.text()).slice(0, 300) }),
    (error: unknown) => ({ status: 0, applied: null, type: null, body: String((error as Error).cause ?? error) }),
  )
  await delay(1000)
  const heldFor = Date.now()
  const source = join(ROOT, 'src', 'held-pickup.ts')
  const original = await readFile(source, 'utf8')
  await writeFile(source, `${original}\n`)
  let answer
  try {
    answer = await held
  } finally {
    await writeFile(source, original)
  }
  console.log('held pickup across the reload:', JSON.stringify({ ...answer, afterMs: Date.now() - heldFor }))
  // An answer, not a dropped connection: the relay's own (its wait failed, so it looked the flow up
  // again) or, when wrangler restarted the whole Worker under it, wrangler's 503 asking for a retry.
  assert.ok(answer.status === 400 || answer.status === 503, JSON.stringify(answer))
  await waitForHealth(durable.url, undefined, 30_000)
  const context = await newContext(browser)
  try {
    const page = await context.newPage()
    assert.equal((await signInFromLink(page, { ...standin, url: proxy.url }, durable.url, login)).response.status(), 200)
  } finally {
    await context.close()
  }
  const next = await fetch(`${durable.url}/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Prefer: 'wait=20' }, body: form })
  assert.equal(next.status, 200, await next.clone().text())
})
