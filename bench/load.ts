/**
 * @module
 * The load scenarios: each relay route next to the floor route that does only the work it must
 * do, driven by autocannon with fixed connections. Stateless routes run for a fixed duration;
 * routes that consume a record or a state run a fixed number of requests, each with its own
 * pre-seeded record or pre-minted state, sized from the previous round to last about as long.
 */
import autocannon from 'autocannon'
import { benchVerifier } from './settings.ts'
import { cpuMicros } from './processes.ts'
import type { BenchServer } from './processes.ts'

/** A challenge the app would send (the RFC 7636 appendix B example). */
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' }

type Request = { method?: string; path: string; headers?: Record<string, string>; body?: string }

/** One load scenario. */
export interface Scenario {
  readonly id: string
  readonly label: string
  /** The floor this route is compared against. */
  readonly floor?: string
  readonly status: number
  /** Builds request `i` of a run, after `prepare` made `n` of them possible. */
  prepare(server: BenchServer, tag: string, n: number): Promise<(i: number) => Request>
  /** Stateless scenarios run for the fixed duration. */
  readonly stateless: boolean
  /** Reported next to the others, but its ratio to the floor is not one of the issue's targets. */
  readonly noTarget?: true
  /** Measured on workerd only. */
  readonly workerdOnly?: true
}

const fixed = (request: Request) => async () => () => request
const uniquePoll = (path: string) => async (_server: BenchServer, tag: string) => (i: number): Request => ({
  method: 'POST',
  path,
  headers: FORM,
  body: `grant_type=authorization_code&code_verifier=${benchVerifier(`p${tag}`, i)}`,
})

/** GET /authorize with a fresh challenge per request (43 base64url characters). */
const uniqueAuthorize = (headers: Record<string, string>) => async () => {
  const run = crypto.randomUUID().slice(0, 8)
  return (i: number): Request => ({ path: `/authorize?code_challenge=${`n${run}x${i}`.padEnd(43, 'A')}&code_challenge_method=S256`, headers })
}

async function post<T>(server: BenchServer, path: string, body: unknown): Promise<T> {
  const response = await fetch(new URL(path, server.url), { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } })
  if (!response.ok) throw new Error(`${path} answered ${response.status}`)
  return (await response.json()) as T
}

/** Mints `n` signed states (with their binding cookies) in chunks, for callbacks. */
async function mint(server: BenchServer, prefix: string, n: number): Promise<{ state: string; cookie: string }[]> {
  const minted: { state: string; cookie: string }[] = []
  for (let from = 0; from < n; from += 2000) minted.push(...(await post<{ state: string; cookie: string }[]>(server, '/bench/mint', { prefix, from, n: Math.min(2000, n - from) })))
  return minted
}

async function seed(server: BenchServer, prefix: string, n: number): Promise<void> {
  for (let from = 0; from < n; from += 2000) await post(server, '/bench/seed', { prefix, from, n: Math.min(2000, n - from) })
}

const exchange = (path: string) => async (server: BenchServer, tag: string, n: number) => {
  await seed(server, `x${tag}`, n)
  return (i: number): Request => ({ method: 'POST', path, headers: FORM, body: `grant_type=authorization_code&code_verifier=${benchVerifier(`x${tag}`, i)}` })
}

/**
 * Callbacks for `n` minted flows. `prefix` keeps each scenario's flows apart: the relay keeps a
 * flow's first confirmation, so a floor's flows reused by the relay's callback would be refused.
 */
const callback = (path: string, prefix: string) => async (server: BenchServer, tag: string, n: number) => {
  const minted = await mint(server, `${prefix}${tag}`, n)
  return (i: number): Request => {
    const { state, cookie } = minted[i % minted.length]!
    return { path: `${path}?code=code-${tag}-${i}&state=${state}`, headers: { Cookie: cookie } }
  }
}

/** Refreshes with `n` refresh tokens minted for `design`, each its own grant, so each is refreshed once. */
const refreshes = (path: string, design: 'relay' | 'floor') => async (server: BenchServer, _tag: string, n: number) => {
  const tokens: string[] = []
  for (let from = 0; from < n; from += 2000) tokens.push(...(await post<string[]>(server, '/bench/mint-refresh', { design, n: Math.min(2000, n - from) })))
  return (i: number): Request => ({ method: 'POST', path, headers: FORM, body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(tokens[i % tokens.length]!)}` })
}

/** base64url without padding, in the runner (Node). */
const b64url = (bytes: ArrayBuffer | Uint8Array): string => Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toString('base64url')

/**
 * Refreshes of tokens bound to one ES256 key, each with its own DPoP proof (RFC 9449 §4.2) for
 * `path`, signed in the runner before the run, so the server only verifies.
 */
const dpopRefreshes = (path: string, design: 'relay' | 'floor') => async (server: BenchServer, _tag: string, n: number) => {
  const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair
  const { kty, crv, x, y } = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as JsonWebKey
  // RFC 7638: the required members in lexicographic order.
  const jkt = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(JSON.stringify({ crv, kty, x, y }))))
  const tokens: string[] = []
  for (let from = 0; from < n; from += 2000) tokens.push(...(await post<string[]>(server, '/bench/mint-refresh', { design, n: Math.min(2000, n - from), jkt })))
  const head = b64url(new TextEncoder().encode(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } })))
  const htu = new URL(path, server.url).href
  const proofs = await Promise.all(tokens.map(async () => {
    const claims = b64url(new TextEncoder().encode(JSON.stringify({ jti: crypto.randomUUID(), htm: 'POST', htu, iat: Math.floor(Date.now() / 1000) })))
    const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, new TextEncoder().encode(`${head}.${claims}`))
    return `${head}.${claims}.${b64url(signature)}`
  }))
  return (i: number): Request => ({
    method: 'POST',
    path,
    headers: { ...FORM, DPoP: proofs[i % proofs.length]! },
    body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(tokens[i % tokens.length]!)}`,
  })
}

/** Every scenario, in the order runs are interleaved. `confirmPage` adds the issue-7 variants. */
export function scenarios(confirmPage: boolean): Scenario[] {
  const authorizePath = `/authorize?code_challenge=${CHALLENGE}&code_challenge_method=S256`
  const list: Scenario[] = [
    { id: 'hello', label: 'Hono hello (floor)', status: 200, stateless: true, prepare: fixed({ path: '/bench/hello' }) },
    { id: 'hello-headers', label: "Hono hello + the 14 headers every relay response carries", floor: 'hello', noTarget: true, status: 200, stateless: true, prepare: fixed({ path: '/bench/hello-headers' }) },
    { id: 'healthz', label: '/healthz', floor: 'hello', status: 200, stateless: true, prepare: fixed({ path: '/healthz' }) },
    { id: 'floor-authorize', label: 'authorize floor', status: 302, stateless: true, prepare: fixed({ path: `/bench/floor/authorize?code_challenge=${CHALLENGE}` }) },
  ]
  if (confirmPage) {
    list.push(
      { id: 'floor-authorize-page', label: 'authorize page floor', status: 200, stateless: true, prepare: fixed({ path: `/bench/floor/authorize-page?code_challenge=${CHALLENGE}` }) },
      { id: 'authorize', label: 'GET /authorize (confirmation page)', floor: 'floor-authorize-page', status: 200, stateless: true, prepare: fixed({ path: authorizePath }) },
      { id: 'authorize-emulated', label: 'GET /authorize (page), Miniflare-emulated rate limits', floor: 'floor-authorize-page', status: 200, stateless: true, noTarget: true,
      workerdOnly: true, prepare: fixed({ path: authorizePath, headers: { 'X-Bench-Relay': 'emulated-limiter' } }) },
      // It records the confirmation, so each request needs a challenge of its own.
      { id: 'authorize-never', label: 'GET /authorize (CONFIRM_PAGE=never, 302)', floor: 'floor-authorize', status: 302, stateless: true, prepare: uniqueAuthorize({ 'X-Bench-Relay': 'never' }) },
    )
  } else {
    list.push({ id: 'authorize', label: 'GET /authorize (302)', floor: 'floor-authorize', status: 302, stateless: true, prepare: fixed({ path: authorizePath }) })
  }
  list.push(
    { id: 'floor-callback', label: 'callback floor', status: 200, stateless: false, prepare: callback('/bench/floor/callback', 'f') },
    { id: 'callback', label: 'GET /callback', floor: 'floor-callback', status: 200, stateless: false, prepare: callback('/callback', 'c') },
    { id: 'floor-pending', label: 'pending poll floor', status: 400, stateless: true, prepare: uniquePoll('/bench/floor/pending') },
    { id: 'pending', label: 'POST /token pending poll', floor: 'floor-pending', status: 400, stateless: true, prepare: uniquePoll('/token') },
    {
      id: 'pending-emulated',
      label: 'POST /token pending poll, Miniflare-emulated rate limits',
      floor: 'floor-pending',
      status: 400,
      stateless: true,
      noTarget: true,
      workerdOnly: true,
      prepare: async (server, tag) => {
        const build = await uniquePoll('/token')(server, `e${tag}`)
        return (i) => ({ ...build(i), headers: { ...FORM, 'X-Bench-Relay': 'emulated-limiter' } })
      },
    },
    { id: 'floor-token', label: 'token floor', status: 200, stateless: false, prepare: exchange('/bench/floor/token') },
    { id: 'token', label: 'POST /token exchange (stub Unity)', floor: 'floor-token', status: 200, stateless: false, prepare: exchange('/token') },
    { id: 'floor-refresh', label: 'refresh floor (AES-GCM open and seal, one get)', status: 200, stateless: false, prepare: refreshes('/bench/floor/refresh', 'floor') },
    { id: 'refresh', label: 'POST /token refresh, sealed (stub Unity)', floor: 'floor-refresh', status: 200, stateless: false, noTarget: true, prepare: refreshes('/token', 'relay') },
    { id: 'floor-refresh-dpop', label: 'DPoP refresh floor (the refresh floor, an ES256 proof, one put)', status: 200, stateless: false, prepare: dpopRefreshes('/bench/floor/refresh-dpop', 'floor') },
    { id: 'refresh-dpop', label: 'POST /token refresh, sealed and DPoP-bound (stub Unity)', floor: 'floor-refresh-dpop', status: 200, stateless: false, noTarget: true, prepare: dpopRefreshes('/token', 'relay') },
    { id: 'peer-authorize', label: 'peer: authorize (state put in KV)', status: 302, stateless: true, prepare: fixed({ path: `/bench/peer/authorize?code_challenge=${CHALLENGE}` }) },
    {
      id: 'peer-callback',
      label: 'peer: callback (state get + delete, code put)',
      status: 200,
      stateless: false,
      prepare: async (server, tag, n) => {
        const states: string[] = []
        for (let from = 0; from < n; from += 2000) states.push(...(await post<string[]>(server, '/bench/peer-seed', { prefix: `q${tag}`, from, n: Math.min(2000, n - from) })))
        return (i) => ({ path: `/bench/peer/callback?code=code-${tag}-${i}&state=${states[i % states.length]}` })
      },
    },
  )
  return list
}

/** What one run measured. */
export interface RunResult {
  readonly requests: number
  readonly seconds: number
  readonly rps: number
  readonly cpuMicrosPerRequest: number
  /** Responses with another status than the scenario expects, plus socket errors. */
  readonly unexpected: number
  /** How many answers had each status, for the message when some were unexpected. */
  readonly statuses: Readonly<Record<string, number>>
}

/** Options of {@link runScenario}. */
export interface RunOptions {
  readonly connections: number
  readonly seconds: number
  /** For scenarios that consume records: how many requests to make. */
  readonly amount: number
  readonly ticksPerSecond: number
  readonly tag: string
}

/** Prepares and runs one scenario against one server; CPU is read around the load only. */
export async function runScenario(server: BenchServer, scenario: Scenario, options: RunOptions): Promise<RunResult> {
  const amount = scenario.stateless ? 0 : options.amount
  const build = await scenario.prepare(server, options.tag, amount)
  let next = 0
  let answered = 0
  const cpuBefore = cpuMicros(server.pid, options.ticksPerSecond)
  const started = performance.now()
  let finished = started
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: server.url,
        connections: options.connections,
        // autocannon notices a reached `amount` only on its one-second tick, so answers are also
        // counted here: the run stops at the last answer and is timed to it.
        ...(scenario.stateless ? { duration: options.seconds } : { amount }),
        timeout: 10,
        requests: [{ setupRequest: (request) => ({ ...request, ...build(next++) }) as typeof request }],
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    )
    instance.on('response', () => {
      finished = performance.now()
      if (!scenario.stateless && ++answered === amount) instance.stop()
    })
  })
  const seconds = ((scenario.stateless ? performance.now() : finished) - started) / 1000
  const cpu = cpuMicros(server.pid, options.ticksPerSecond) - cpuBefore
  const requests = result.requests.total
  const expected = result.statusCodeStats?.[`${scenario.status}` as `${number}`]?.count ?? 0
  return {
    requests,
    seconds,
    rps: requests / seconds,
    cpuMicrosPerRequest: cpu / Math.max(1, requests),
    unexpected: requests - expected + result.errors + result.timeouts,
    statuses: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([status, stats]) => [status, stats?.count ?? 0])),
  }
}
