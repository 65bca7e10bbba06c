/**
 * @module
 * `npm run bench:device-hold` (Deno): how long openid-client's device flow (RFC 8628) takes to get
 * its tokens after the user's Allow, for DEVICE_HOLD_SECONDS 0, 15 and 20. openid-client waits
 * `interval` (5 s) before each poll and gives each request 30 s; the relay holds each poll for the
 * setting. For each setting, DEVICE_HOLD_LOGINS (default 24) device logins run at once on an
 * in-process relay with in-memory Deno KV; the callback of login i lands at an even spread of
 * moments over one whole poll cycle (interval + hold) after the first poll. Prints one line per
 * setting: p50, p90, p99 and the mean from callback to tokens, and the longest single poll.
 */
import * as client from 'openid-client'
import { createRelay } from '../src/app.ts'
import { parseConfig } from '../src/config.ts'
import { DenoKvCodeStore } from '../src/stores/deno-kv.ts'
import { BENCH_SETTINGS, STUB_TOKEN_BODY } from './settings.ts'

const LOGINS = Number(Deno.env.get('DEVICE_HOLD_LOGINS') ?? 24)
const ORIGIN = 'https://relay.bench'
const INTERVAL_SECONDS = 5

interface Outcome {
  readonly latencies: number[]
  readonly longestPollMs: number
}

async function run(holdSeconds: number): Promise<Outcome> {
  const kv = await Deno.openKv(':memory:')
  const config = parseConfig({ ...BENCH_SETTINGS, UNITY_URL: 'https://unity.bench/vu/public', DEVICE_HOLD_SECONDS: String(holdSeconds) })
  // Unity answers the exchange at once: the figures are the waiting alone.
  const unity = () => Promise.resolve(new Response(STUB_TOKEN_BODY, { headers: { 'Content-Type': 'application/json' } }))
  const quiet = () => {}
  const relay = createRelay({ config, store: new DenoKvCodeStore(kv), fetch: unity, log: { info: quiet, warn: quiet, error: quiet } })
  const call = (path: string, init?: RequestInit) => Promise.resolve(relay.request(`${ORIGIN}${path}`, init))
  let longestPollMs = 0
  const latencies = await Promise.all(Array.from({ length: LOGINS }, async (_, index) => {
    const app = new client.Configuration({ issuer: ORIGIN, token_endpoint: `${ORIGIN}/token`, device_authorization_endpoint: `${ORIGIN}/device_authorization` }, 'device-hold-bench')
    let firstPollAt = 0
    app[client.customFetch] = async (url, init) => {
      const started = performance.now()
      if (new URL(url).pathname === '/token') firstPollAt ||= started
      const response = await call(new URL(url).pathname, init as RequestInit)
      longestPollMs = Math.max(longestPollMs, performance.now() - started)
      return response
    }
    const device = await client.initiateDeviceAuthorization(app, { scope: 'api' })
    const tokens = client.pollDeviceAuthorizationGrant(app, device).then(() => performance.now())
    const entry = await call(`/device?${new URLSearchParams({ user_code: device.user_code })}`, { headers: { 'Sec-Fetch-Site': 'same-origin' } })
    const page = await entry.text()
    const state = /name="state" value="([^"]+)"/.exec(page)?.[1] ?? ''
    const cookie = (entry.headers.get('Set-Cookie') ?? '').split(';')[0] ?? ''
    const continued = await call('/authorize', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: ORIGIN, 'Sec-Fetch-Site': 'same-origin', Cookie: cookie },
      body: new URLSearchParams({ state, decision: 'continue' }),
    })
    if (continued.status !== 303) throw new Error(`Continue answered ${continued.status}`)
    while (firstPollAt === 0) await delay(20)
    // Login i's Allow lands (i + 0.5) / LOGINS of the way through one poll cycle after the first poll.
    const cycleMs = (INTERVAL_SECONDS + holdSeconds) * 1000
    await delay(firstPollAt + ((index + 0.5) * cycleMs) / LOGINS - performance.now())
    const callback = await call(`/callback?${new URLSearchParams({ code: `device-code-${index}`, state })}`, { headers: { Cookie: cookie } })
    await callback.body?.cancel()
    const answeredAt = performance.now()
    if (callback.status !== 200) throw new Error(`callback answered ${callback.status}`)
    return (await tokens) - answeredAt
  }))
  kv.close()
  return { latencies, longestPollMs }
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))
}

const settings = [0, 15, 20]
const outcomes = await Promise.all(settings.map(run))
console.log(`openid-client device flow, interval ${INTERVAL_SECONDS} s, ${LOGINS} logins per setting, Allow spread over one poll cycle:`)
console.log('| DEVICE_HOLD_SECONDS | p50 ms | p90 ms | p99 ms | mean ms | longest poll ms |')
console.log('|---:|---:|---:|---:|---:|---:|')
settings.forEach((hold, index) => {
  const { latencies, longestPollMs } = outcomes[index]!
  const mean = latencies.reduce((sum, value) => sum + value, 0) / latencies.length
  const cells = [percentile(latencies, 50), percentile(latencies, 90), percentile(latencies, 99), mean, longestPollMs].map((value) => value.toFixed(0))
  console.log(`| ${hold} | ${cells.join(' | ')} |`)
})
