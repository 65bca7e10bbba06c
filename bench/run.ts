/**
 * @module
 * `npm run bench`: builds the Worker, measures bundle size, cold start and the state codec, then
 * drives the relay and its floor routes on workerd and on Deno with interleaved autocannon runs.
 * Prints a table and writes bench/results.json. Everything binds 127.0.0.1 on free ports, stops
 * by itself, and kills its process groups on the way out, failure included.
 *
 * Then held pickups against polling on both runtimes (bench/held.ts).
 *
 * Knobs (environment): BENCH_ROUNDS (default 3), BENCH_SECONDS per run (default 1.5),
 * BENCH_CONNECTIONS (default 32), BENCH_HELD_LOGINS per held/polled case (default 100).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { build } from 'esbuild'
import { measureHeldLogins } from './held.ts'
import type { HeldCase, HeldResult } from './held.ts'
import { runScenario, scenarios } from './load.ts'
import type { RunResult, Scenario } from './load.ts'
import { killAll, startServer, stopGroup } from './processes.ts'
import type { BenchServer } from './processes.ts'
import { buildBundles, measureColdStarts, median, WORKER_BUILD } from './sizes.ts'
import type { BundleSizes, ColdStarts } from './sizes.ts'

const ROOT = resolve(import.meta.dirname, '..')
const OUT = join(ROOT, 'bench/.out')
const BIN = join(ROOT, 'node_modules/.bin')
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 1)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32)
const HELD_LOGINS = Number(process.env.BENCH_HELD_LOGINS ?? 100)
/** The whole bench is cut off after this, whatever state it is in (the held runs take about 20 s). */
const DEADLINE_MS = 200_000
/** No round starts unless it is expected to end by then, so a slow machine runs fewer rounds instead of failing. */
const ROUNDS_BUDGET_MS = 160_000
const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100

const startedAt = Date.now()
let roundsRun = 0
const watchdog = setTimeout(() => {
  console.error(`bench: stopped after ${DEADLINE_MS / 1000} s`)
  killAll()
  rmSync(storageDir, { recursive: true, force: true })
  process.exit(1)
}, DEADLINE_MS)
const VERBOSE = process.env.BENCH_VERBOSE === '1'
const log = (message: string) => console.error(`[${((Date.now() - startedAt) / 1000).toFixed(1).padStart(5)} s] ${message}`)

type Runtime = 'workerd' | 'deno'

// Miniflare keeps local KV in SQLite files under TMPDIR: on tmpfs they cost CPU, not disk waits.
const storageDir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'uor-bench-'))

async function main(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true })
  mkdirSync(OUT, { recursive: true })

  log('building: esbuild (bench entry, state bench), wrangler deploy --dry-run (relay, hello); starting workerd (Miniflare) and Deno')
  await bundleEntry('bench/worker.ts', join(OUT, 'bench-worker.js'))
  await bundleEntry('bench/state-micro.ts', join(OUT, 'state-micro.js'))
  const starting = Promise.all([
    startServer(join(BIN, 'node'), [join(ROOT, 'bench/serve-workerd.ts'), join(OUT, 'bench-worker.js')], { ...process.env, TMPDIR: storageDir }),
    startServer(join(BIN, 'deno'), ['run', '--allow-net', '--allow-env', '--allow-read', join(ROOT, 'bench/deno.ts')], { ...process.env, NO_COLOR: '1' }),
  ])
  // Both servers stay idle until the load runs, so the measurements below are not disturbed.
  const [bundles, [workerd, deno]] = await Promise.all([buildBundles(OUT), starting])
  const servers: Record<Runtime, BenchServer> = { workerd, deno }

  log('cold start: workerd serve and deno run, relay and hello alternately')
  const coldStart = await measureColdStarts(OUT, bundles.relayBundle, bundles.helloBundle, 5)

  log('state sign+verify against raw WebCrypto, on Node and on Deno')
  const stateCodec = {
    node: JSON.parse(execFileSync(join(BIN, 'node'), [join(OUT, 'state-micro.js')], { timeout: 60_000 }).toString()) as StateCodec,
    deno: JSON.parse(execFileSync(join(BIN, 'deno'), ['run', join(OUT, 'state-micro.js')], { timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } }).toString()) as StateCodec,
  }

  const confirmPage = (await fetch(new URL('/authorize?code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256', servers.workerd.url), { redirect: 'manual' })).status === 200
  const list = scenarios(confirmPage)
  const runtimes: Runtime[] = ['workerd', 'deno']

  log(`warm-up: every scenario once on each runtime (${CONNECTIONS} connections)`)
  const rate: Record<string, number> = {}
  for (const runtime of runtimes) {
    for (const scenario of list) {
      if (runtime !== 'workerd' && scenario.workerdOnly) continue
      const result = await runScenario(servers[runtime], scenario, { connections: CONNECTIONS, seconds: 0.3, amount: 150, ticksPerSecond: TICKS, tag: `w${runtime[0]}` })
      rate[`${runtime}:${scenario.id}`] = result.rps
      check(runtime, scenario, result)
    }
  }

  const runs: Record<string, RunResult[]> = {}
  let roundMs = 0
  for (let round = 1; round <= ROUNDS; round++) {
    if (round > 1 && Date.now() - startedAt + roundMs > ROUNDS_BUDGET_MS) {
      log(`stopping after ${round - 1} rounds: another would pass the time budget`)
      break
    }
    const roundStarted = Date.now()
    log(`round ${round}/${ROUNDS}`)
    for (const runtime of runtimes) {
      for (const scenario of list) {
        if (runtime !== 'workerd' && scenario.workerdOnly) continue
        const key = `${runtime}:${scenario.id}`
        const amount = Math.max(300, Math.round((rate[key] ?? 1000) * SECONDS))
        const result = await runScenario(servers[runtime], scenario, { connections: CONNECTIONS, seconds: SECONDS, amount, ticksPerSecond: TICKS, tag: `${round}${runtime[0]}` })
        check(runtime, scenario, result)
        rate[key] = result.rps
        ;(runs[key] ??= []).push(result)
      }
    }
    roundMs = Date.now() - roundStarted
    roundsRun = round
  }

  log(`held pickups against polling every 2 s: ${HELD_LOGINS} logins at once per case, callbacks spread over 2 s`)
  const held: HeldResult[] = []
  for (const [runtime, heldCase] of HELD_CASES) {
    held.push(await measureHeldLogins(servers[runtime], heldCase, { logins: HELD_LOGINS, spreadMs: 2000, intervalMs: 2000, ticksPerSecond: TICKS, tag: runtime }))
  }

  log('storage operations for one login on each design')
  const storageOps = { workerd: await countLoginOps(servers.workerd), deno: await countLoginOps(servers.deno) }
  await Promise.all(runtimes.map((runtime) => stopGroup(servers[runtime].child)))

  const results = summarise(list, runs, { coldStart, sizes: bundles.sizes, stateCodec, storageOps, confirmPage, held })
  writeFileSync(join(ROOT, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`)
  console.log(render(results))
  log(`done; wrote bench/results.json`)
}

/** Held against polled, on the store each runtime holds with: Durable Objects on workerd, Deno KV on Deno. */
const HELD_CASES: readonly (readonly [Runtime, HeldCase])[] = [
  ['workerd', { id: 'do-polled', label: 'workerd, Durable Objects, polling every 2 s', headers: { 'X-Bench-Relay': 'durable-object' }, waitSeconds: 0 }],
  ['workerd', { id: 'do-held', label: 'workerd, Durable Objects, held (Prefer: wait=20)', headers: { 'X-Bench-Relay': 'durable-object' }, waitSeconds: 20 }],
  ['deno', { id: 'kv-polled', label: 'Deno, Deno KV, polling every 2 s', headers: {}, waitSeconds: 0 }],
  ['deno', { id: 'kv-held', label: 'Deno, Deno KV, held (Prefer: wait=20)', headers: {}, waitSeconds: 20 }],
]

async function bundleEntry(entry: string, outfile: string): Promise<void> {
  await build({
    ...WORKER_BUILD,
    entryPoints: [join(ROOT, entry)],
    outfile,
    logLevel: 'warning',
  })
}

/** A run whose answers were not what the scenario expects measures the wrong thing: stop. */
function check(runtime: Runtime, scenario: Scenario, result: RunResult): void {
  if (VERBOSE) log(`${runtime} ${scenario.id}: ${result.requests} in ${result.seconds.toFixed(2)} s, ${result.rps.toFixed(0)} req/s, ${result.cpuMicrosPerRequest.toFixed(0)} µs CPU/req`)
  if (result.unexpected > 0) {
    throw new Error(`${runtime} ${scenario.id}: ${result.unexpected} of ${result.requests} responses were not ${scenario.status} (statuses: ${JSON.stringify(result.statuses)})`)
  }
}

/** Counts the storage operations of one login (one pending poll included) on the relay and on the peer design. */
async function countLoginOps(server: BenchServer): Promise<{ relay: Record<string, number>; peer: Record<string, number> }> {
  const call = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(new URL(path, server.url), { redirect: 'manual', ...init, headers: { 'X-Bench-Relay': 'count', ...(init.headers as Record<string, string>) } })
    return { status: response.status, headers: response.headers, text: await response.text() }
  }
  const reset = () => call('/bench/counts/reset', { method: 'POST' })
  const counts = async () => (await (await fetch(new URL('/bench/counts', server.url))).json()) as Record<string, number>
  const poll = (verifier: string) =>
    call('/token', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `grant_type=authorization_code&code_verifier=${verifier}` })

  await reset()
  const [minted] = JSON.parse((await call('/bench/mint', { method: 'POST', body: JSON.stringify({ prefix: 'login', from: 0, n: 1 }) })).text) as { state: string; cookie: string }[]
  const verifier = 'bench-login-0-'.padEnd(48, 'v')
  await call(`/authorize?code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256`)
  const pending = await poll(verifier)
  const callback = await call(`/callback?code=login-code&state=${minted!.state}`, { headers: { Cookie: minted!.cookie } })
  const tokens = await poll(verifier)
  if (pending.status !== 400 || callback.status !== 200 || tokens.status !== 200) throw new Error(`relay login: ${pending.status} ${callback.status} ${tokens.status}`)
  const relay = await counts()

  await reset()
  const peerVerifier = 'bench-peer-login-0-'.padEnd(48, 'v')
  const challenge = await sha256Base64Url(peerVerifier)
  const authorize = await call(`/bench/peer/authorize?code_challenge=${challenge}`)
  const state = new URL(authorize.headers.get('Location') ?? '').searchParams.get('state')
  const peerPending = await poll(peerVerifier)
  const peerCallback = await call(`/bench/peer/callback?code=login-code&state=${state}`)
  const peerTokens = await poll(peerVerifier)
  if (peerPending.status !== 400 || peerCallback.status !== 200 || peerTokens.status !== 200) throw new Error(`peer login: ${peerPending.status} ${peerCallback.status} ${peerTokens.status}`)
  return { relay, peer: await counts() }
}

async function sha256Base64Url(text: string): Promise<string> {
  return Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))).toString('base64url')
}

interface Row {
  readonly id: string
  readonly label: string
  readonly floor: string | undefined
  /** Whether the ratio to the floor is one of the targets. */
  readonly target: boolean
  readonly rps: number
  readonly cpuMicrosPerRequest: number
  /** Median over rounds of (floor CPU per request / this route's): its throughput per CPU as a share of the floor's. */
  readonly vsFloorCpu: number | undefined
  /** Median over rounds of (this route's req/s / the floor's), from the interleaved runs. */
  readonly vsFloorRps: number | undefined
}

/** Medians of µs per sign+verify pair, and medians of the pairwise (interleaved) ratios. */
interface StateCodec {
  readonly rawSequential: number
  readonly relaySequential: number
  readonly raw64: number
  readonly relay64: number
  readonly ratioSequential: number
  readonly ratio64: number
}

interface Extra {
  readonly coldStart: ColdStarts
  readonly sizes: BundleSizes
  readonly stateCodec: Record<'node' | 'deno', StateCodec>
  readonly storageOps: Record<Runtime, { relay: Record<string, number>; peer: Record<string, number> }>
  readonly confirmPage: boolean
  readonly held: readonly HeldResult[]
}

interface Target {
  readonly target: string
  readonly value: number
  readonly limit: number
  readonly met: boolean
}

function summarise(list: Scenario[], runs: Record<string, RunResult[]>, extra: Extra) {
  const table = (runtime: Runtime): Row[] =>
    list.map((scenario) => {
      const mine = runs[`${runtime}:${scenario.id}`] ?? []
      const floor = scenario.floor ? (runs[`${runtime}:${scenario.floor}`] ?? []) : undefined
      const ratio = (pick: (run: RunResult) => number, invert: boolean) =>
        floor ? median(mine.map((run, i) => (invert ? pick(floor[i]!) / pick(run) : pick(run) / pick(floor[i]!)))) : undefined
      return {
        id: scenario.id,
        label: scenario.label,
        floor: scenario.floor,
        target: !scenario.noTarget,
        rps: median(mine.map((run) => run.rps)),
        cpuMicrosPerRequest: median(mine.map((run) => run.cpuMicrosPerRequest)),
        vsFloorCpu: ratio((run) => run.cpuMicrosPerRequest, true),
        vsFloorRps: ratio((run) => run.rps, false),
      }
    })
  const tables = { workerd: table('workerd'), deno: table('deno') }
  const cpu = (runtime: Runtime, id: string) => tables[runtime].find((row) => row.id === id)?.cpuMicrosPerRequest ?? Number.NaN
  // A login: the authorize step, the callback, one pending poll and the exchange.
  const login = (runtime: Runtime) => {
    const relay = cpu(runtime, 'authorize') + cpu(runtime, 'callback') + cpu(runtime, 'pending') + cpu(runtime, 'token')
    const peer = cpu(runtime, 'peer-authorize') + cpu(runtime, 'peer-callback') + cpu(runtime, 'pending') + cpu(runtime, 'token')
    return {
      relayCpuMicros: relay,
      peerCpuMicros: peer,
      relayLoginsPerCpuSecond: 1e6 / relay,
      peerLoginsPerCpuSecond: 1e6 / peer,
      relayStorageOps: extra.storageOps[runtime].relay,
      peerStorageOps: extra.storageOps[runtime].peer,
    }
  }
  const targets: Target[] = []
  const atLeast = (target: string, value: number | undefined, limit: number) => targets.push({ target, value: value ?? Number.NaN, limit, met: (value ?? 0) >= limit })
  const atMost = (target: string, value: number, limit: number) => targets.push({ target, value, limit, met: value <= limit })
  for (const runtime of ['workerd', 'deno'] as const) {
    for (const row of tables[runtime]) if (row.floor && row.target) atLeast(`${runtime} ${row.label} ≥ 0.8× ${row.floor} (CPU)`, row.vsFloorCpu, 0.8)
  }
  for (const runtime of ['node', 'deno'] as const) {
    const codec = extra.stateCodec[runtime]
    atMost(`${runtime} state sign+verify ≤ 1.2× raw WebCrypto, one at a time`, codec.ratioSequential, 1.2)
    atMost(`${runtime} state sign+verify ≤ 1.2× raw WebCrypto, 64 in flight`, codec.ratio64, 1.2)
  }
  // Issue 19: the stub's exchange takes well under a millisecond here, so its targets apply as they stand.
  for (const row of extra.held.filter((result) => result.id.endsWith('-held'))) {
    atMost(`${row.label}: p50 from callback to tokens ≤ 100 ms`, row.p50Ms, 100)
    atMost(`${row.label}: p99 from callback to tokens ≤ 300 ms`, row.p99Ms, 300)
  }
  atMost('bundle gzip ≤ 2.2× hello-world', extra.sizes.relayGzipBytes / extra.sizes.helloGzipBytes, 2.2)
  atMost('workerd cold start ≤ 1.1× hello-world', extra.coldStart.workerdRelayMs / extra.coldStart.workerdHelloMs, 1.1)
  return {
    date: new Date().toISOString(),
    method: {
      rounds: roundsRun,
      secondsPerRun: SECONDS,
      connections: CONNECTIONS,
      loadGenerator: 'autocannon',
      cpu: 'utime+stime of the server process from /proc/<pid>/stat, over the requests served',
    },
    durationSeconds: Math.round((Date.now() - startedAt) / 1000),
    ...tables,
    login: { workerd: login('workerd'), deno: login('deno') },
    targets,
    ...extra,
  }
}

function render(results: ReturnType<typeof summarise>): string {
  const f = (value: number | undefined, digits = 0) => (value === undefined || Number.isNaN(value) ? '' : value.toFixed(digits))
  const ops = (counts: Record<string, number>) => Object.entries(counts).map(([op, n]) => `${n} ${op}`).join(', ')
  const lines: string[] = []
  lines.push('| route | workerd req/s | workerd CPU µs/req | workerd × floor | Deno req/s | Deno CPU µs/req | Deno × floor |')
  lines.push('|---|---:|---:|---:|---:|---:|---:|')
  results.workerd.forEach((row, i) => {
    const deno = results.deno[i]!
    lines.push(`| ${row.label} | ${f(row.rps)} | ${f(row.cpuMicrosPerRequest)} | ${f(row.vsFloorCpu, 2)} | ${f(deno.rps)} | ${f(deno.cpuMicrosPerRequest)} | ${f(deno.vsFloorCpu, 2)} |`)
  })
  lines.push('', '× floor: the floor route\'s CPU per request divided by the route\'s (1.00 = as cheap as the floor).', '')
  lines.push('| a full login (authorize, callback, 1 pending poll, exchange) | workerd | Deno |', '|---|---|---|')
  const { workerd, deno } = results.login
  lines.push(`| relay: CPU µs per login | ${f(workerd.relayCpuMicros)} | ${f(deno.relayCpuMicros)} |`)
  lines.push(`| peer design: CPU µs per login | ${f(workerd.peerCpuMicros)} | ${f(deno.peerCpuMicros)} |`)
  lines.push(`| relay: logins per CPU-second | ${f(workerd.relayLoginsPerCpuSecond)} | ${f(deno.relayLoginsPerCpuSecond)} |`)
  lines.push(`| peer design: logins per CPU-second | ${f(workerd.peerLoginsPerCpuSecond)} | ${f(deno.peerLoginsPerCpuSecond)} |`)
  lines.push(`| relay: storage operations | ${ops(workerd.relayStorageOps)} | ${ops(deno.relayStorageOps)} |`)
  lines.push(`| peer design: storage operations | ${ops(workerd.peerStorageOps)} | ${ops(deno.peerStorageOps)} |`)
  lines.push('', '| held pickups, logins at once, callbacks spread over 2 s | logins | callback → tokens p50 | p99 | pickups | CPU µs per login | logins per CPU-second |', '|---|---:|---:|---:|---:|---:|---:|')
  for (const row of results.held) {
    lines.push(`| ${row.label} | ${row.logins} | ${f(row.p50Ms)} ms | ${f(row.p99Ms)} ms | ${row.pickups} | ${f(row.cpuMicrosPerLogin)} | ${f(row.loginsPerCpuSecond)} |`)
  }
  const { sizes, coldStart, stateCodec } = results
  lines.push('', '| other figures | relay | hello-world | ratio |', '|---|---:|---:|---:|')
  lines.push(`| bundle, gzip (wrangler --dry-run) | ${f(sizes.relayGzipBytes / 1024, 1)} KiB | ${f(sizes.helloGzipBytes / 1024, 1)} KiB | ${f(sizes.relayGzipBytes / sizes.helloGzipBytes, 2)} |`)
  lines.push(`| cold start to first response, workerd | ${f(coldStart.workerdRelayMs, 1)} ms | ${f(coldStart.workerdHelloMs, 1)} ms | ${f(coldStart.workerdRelayMs / coldStart.workerdHelloMs, 2)} |`)
  lines.push(`| cold start to first response, Deno | ${f(coldStart.denoRelayMs, 1)} ms | ${f(coldStart.denoHelloMs, 1)} ms | ${f(coldStart.denoRelayMs / coldStart.denoHelloMs, 2)} |`)
  lines.push('', '| state sign+verify, µs per pair | relay | raw WebCrypto | ratio |', '|---|---:|---:|---:|')
  for (const runtime of ['node', 'deno'] as const) {
    const codec = stateCodec[runtime]
    lines.push(`| ${runtime}, one at a time | ${f(codec.relaySequential, 1)} | ${f(codec.rawSequential, 1)} | ${f(codec.ratioSequential, 2)} |`)
    lines.push(`| ${runtime}, 64 in flight | ${f(codec.relay64, 1)} | ${f(codec.raw64, 1)} | ${f(codec.ratio64, 2)} |`)
  }
  lines.push(`| keep_names = true adds (esbuild, minified / gzip) | ${f(sizes.keepNamesMinifiedBytes / 1024, 1)} KiB / ${f(sizes.keepNamesGzipBytes / 1024, 1)} KiB | | |`)
  lines.push(`| pages + hono/html, share of the minified bundle | ${f(sizes.pagesMinifiedBytes / 1024, 1)} KiB | | ${f((100 * sizes.pagesMinifiedBytes) / sizes.relayMinifiedBytes, 0)} % |`)
  lines.push('', 'Targets:')
  for (const target of results.targets) lines.push(`  ${target.met ? 'met   ' : 'MISSED'} ${target.target}: ${f(target.value, 2)}`)
  lines.push('', `${results.targets.filter((target) => target.met).length} of ${results.targets.length} targets met; bench took ${results.durationSeconds} s.`)
  return lines.join('\n')
}

try {
  await main()
} catch (error) {
  console.error(error instanceof Error ? error.stack : error)
  process.exitCode = 1
} finally {
  clearTimeout(watchdog)
  killAll()
  rmSync(storageDir, { recursive: true, force: true })
}
