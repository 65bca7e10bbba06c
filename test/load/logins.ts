/**
 * @module
 * `npm run test:load`: complete logins against the relay under `wrangler dev` (workerd, local KV,
 * the emulated Rate Limiting bindings) and the oidc-provider stand-in, driven headlessly.
 * Each login: GET /authorize → stand-in sign-in and consent → GET /callback → POST /token, then a
 * second pickup that must not get tokens again. Bounded in count and time; stops by itself.
 *
 * Pass: every login got tokens exactly once, no access token was handed out twice, no 5xx.
 * Settings: LOAD_LOGINS (2000), LOAD_CONCURRENCY (32), LOAD_SECONDS (240), LOAD_PORT (8792).
 */
import { challengeOf, makeVerifier } from '../../dev/pkce.ts'
import { headlessLogin } from '../support/headless-login.ts'
import { BASIC_CLIENT, startRelay, startStandin } from '../e2e/harness.ts'

const LOGINS = Number(process.env.LOAD_LOGINS ?? 2000)
const CONCURRENCY = Number(process.env.LOAD_CONCURRENCY ?? 32)
const SECONDS = Number(process.env.LOAD_SECONDS ?? 240)
// A port in the stand-in's registered redirect URIs that no e2e file uses.
const PORT = Number(process.env.LOAD_PORT ?? 8792)

/** Latencies in ms, by endpoint. */
const latencies = new Map<string, number[]>()
const serverErrors: string[] = []
const failures: string[] = []
const accessTokens = new Set<string>()
let duplicates = 0
let passed = 0

function endpointOf(url: URL, relayOrigin: string, method: string): string {
  if (url.origin === relayOrigin) return `${method} ${url.pathname}`
  return `stand-in ${method} ${url.pathname.replace(/\/[A-Za-z0-9_-]{16,}/g, '/:id')}`
}

/** fetch that times each request by endpoint, records 5xx, and sends the simulated client address. */
function timedFetch(relayOrigin: string, clientIp: string): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input)
    const method = init?.method ?? 'GET'
    const headers = new Headers(init?.headers)
    // wrangler dev keeps a client-sent CF-Connecting-IP (Cloudflare's edge overwrites it): one address per office.
    headers.set('CF-Connecting-IP', clientIp)
    const started = performance.now()
    const response = await fetch(url, { ...init, headers })
    const endpoint = endpointOf(url, relayOrigin, method)
    const list = latencies.get(endpoint) ?? []
    list.push(performance.now() - started)
    latencies.set(endpoint, list)
    if (response.status >= 500) serverErrors.push(`${response.status} ${endpoint}: ${(await response.clone().text()).slice(0, 80)}`)
    return response
  }
}

async function oneLogin(index: number, relayOrigin: string, clientIp: string, deadline: number): Promise<void> {
  const doFetch = timedFetch(relayOrigin, clientIp)
  const verifier = makeVerifier()
  const query = new URLSearchParams({ code_challenge: await challengeOf(verifier), code_challenge_method: 'S256' })
  const result = await headlessLogin(`${relayOrigin}/authorize?${query}`, { username: `load-user-${index}`, fetch: doFetch })
  if (result.status !== 200 || !new URL(result.finalUrl).pathname.startsWith('/callback')) {
    throw new Error(`login ended at ${new URL(result.finalUrl).pathname} with ${result.status}`)
  }
  const pickup = () =>
    doFetch(`${relayOrigin}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code_verifier: verifier }),
      signal: AbortSignal.timeout(Math.max(1000, deadline - Date.now())),
    })
  const first = await pickup()
  const tokens = (await first.json()) as { access_token?: string; error?: string }
  if (first.status !== 200 || typeof tokens.access_token !== 'string') throw new Error(`pickup answered ${first.status} ${tokens.error ?? ''}`)
  if (accessTokens.has(tokens.access_token)) duplicates++
  accessTokens.add(tokens.access_token)
  const second = await pickup()
  const again = (await second.json()) as { access_token?: string }
  if (second.status === 200 || again.access_token !== undefined) {
    duplicates++
    throw new Error('a second pickup got tokens again')
  }
}

/**
 * Sends a 300 MB body to POST /token as a stream produced on demand, and a declared 520 MB one
 * (the two reproductions of issue 8): the relay must answer 413 long before the body is sent.
 */
async function bodyLimitProbe(relayOrigin: string, totalBytes: number, declare: boolean): Promise<string> {
  const chunk = new Uint8Array(64 * 1024).fill(0x61)
  let sent = 0
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= totalBytes) return controller.close()
      sent += chunk.byteLength
      controller.enqueue(chunk)
    },
  }, { highWaterMark: 0 })
  const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded', 'CF-Connecting-IP': '10.9.0.1' }
  if (declare) headers['Content-Length'] = String(totalBytes)
  const label = `${totalBytes / 1024 / 1024} MB ${declare ? 'declared' : 'streamed'} POST /token`
  const started = performance.now()
  let outcome: string
  try {
    const response = await fetch(`${relayOrigin}/token`, { method: 'POST', headers, body, duplex: 'half', signal: AbortSignal.timeout(30_000) } as RequestInit)
    await response.body?.cancel()
    outcome = String(response.status)
  } catch (error) {
    // The relay may answer and close while the client is still sending; the client then sees a reset.
    outcome = (error as Error).name === 'TypeError' ? 'connection closed' : (error as Error).name
  }
  const line = `${label}: ${outcome} after ${Math.round(performance.now() - started)} ms, ${Math.round(sent / 1024)} KiB sent`
  const refusedEarly = outcome === 'connection closed' && sent < 64 * 1024 * 1024
  if (outcome !== '413' && !refusedEarly) failures.push(line)
  return line
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN
}

const standin = await startStandin()
const relay = await startRelay({ port: PORT, standin, vars: { UNITY_CLIENT_ID: BASIC_CLIENT.clientId } })
const probes = [await bodyLimitProbe(relay.url, 300 * 1024 * 1024, false), await bodyLimitProbe(relay.url, 520 * 1024 * 1024, true)]
const started = Date.now()
const deadline = started + SECONDS * 1000
let next = 0
let timedOut = 0
try {
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, worker) => {
      const clientIp = `10.8.${worker >> 8}.${worker & 255}`
      for (let index = next++; index < LOGINS; index = next++) {
        if (Date.now() > deadline) {
          timedOut++
          continue
        }
        try {
          await oneLogin(index, relay.url, clientIp, deadline)
          passed++
        } catch (error) {
          failures.push(`login ${index}: ${(error as Error).message}`)
        }
      }
    }),
  )
} finally {
  await relay.stop()
  await standin.close()
}

const elapsed = (Date.now() - started) / 1000
console.log(`${LOGINS} logins, ${CONCURRENCY} concurrent, ${elapsed.toFixed(1)} s (${(passed / elapsed).toFixed(1)} logins/s)`)
console.log('endpoint'.padEnd(44), 'requests'.padStart(9), 'p50 ms'.padStart(8), 'p99 ms'.padStart(8))
for (const [endpoint, values] of [...latencies].sort(([a], [b]) => a.localeCompare(b))) {
  const sorted = values.sort((a, b) => a - b)
  console.log(endpoint.padEnd(44), String(sorted.length).padStart(9), percentile(sorted, 50).toFixed(1).padStart(8), percentile(sorted, 99).toFixed(1).padStart(8))
}
for (const line of probes) console.log(line)
for (const line of failures.slice(0, 10)) console.log(`FAIL ${line}`)
if (serverErrors.length > 0) console.log(`5xx answers: ${serverErrors.length} (first: ${serverErrors[0]})`)
if (duplicates > 0) console.log(`duplicated tokens: ${duplicates}`)
if (timedOut > 0) console.log(`not started before the ${SECONDS} s bound: ${timedOut}`)
const failed = LOGINS - passed
const ok = failures.length === 0 && failed === 0 && serverErrors.length === 0 && duplicates === 0
console.log(`${passed} passed, ${failed} failed`)
process.exit(ok ? 0 : 1)
