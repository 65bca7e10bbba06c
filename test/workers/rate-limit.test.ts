/**
 * The Workers Rate Limiting bindings from wrangler.toml, as workerd emulates them, wired through
 * the real Workers entry: per-address limits keyed by `CF-Connecting-IP`, per-flow pickups.
 */
import { env } from 'cloudflare:workers'
import { createExecutionContext } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import worker from '../../src/index.ts'
import { DEFAULT_RATE_LIMITS } from '../../src/limits/settings.ts'
import { challengeOf, makeVerifier } from '../../dev/pkce.ts'

const ORIGIN = 'https://relay.example.com'

function call(path: string, ip: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers)
  headers.set('CF-Connecting-IP', ip)
  const request = new Request(`${ORIGIN}${path}`, { ...init, headers, redirect: 'manual' }) as Request<unknown, IncomingRequestCfProperties>
  return Promise.resolve(worker.fetch(request, env, createExecutionContext()))
}

/** workerd's windows are aligned to the wall clock: start a burst well inside one, so it is counted in one window. */
async function awayFromWindowEdge(periodSeconds: number): Promise<void> {
  const left = periodSeconds * 1000 - (Date.now() % (periodSeconds * 1000))
  if (left < 4000) await new Promise((resolve) => setTimeout(resolve, left + 50))
}

function pickup(verifier: string, ip: string): Promise<Response> {
  return call('/token', ip, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: `grant_type=authorization_code&code_verifier=${verifier}`,
  })
}

describe('Workers Rate Limiting bindings', { timeout: 20_000 }, () => {
  it('the wrangler.toml bindings hold the documented defaults', async () => {
    // The binding does not expose its settings: count until it refuses.
    const limiter = env.PICKUP_LIMITER
    expect(limiter).toBeDefined()
    await awayFromWindowEdge(DEFAULT_RATE_LIMITS.pickup.periodSeconds)
    const key = `defaults-${crypto.randomUUID()}`
    let allowed = 0
    while ((await limiter?.limit({ key }))?.success && allowed < 100) allowed++
    expect(allowed).toBe(DEFAULT_RATE_LIMITS.pickup.limit)
  })

  it('a flow polled faster than every few seconds hears slow_down; another flow does not', async () => {
    const verifier = makeVerifier()
    const ip = '192.0.2.10'
    await awayFromWindowEdge(DEFAULT_RATE_LIMITS.pickup.periodSeconds)
    for (let poll = 0; poll < DEFAULT_RATE_LIMITS.pickup.limit; poll++) {
      expect(((await (await pickup(verifier, ip)).json()) as { error: string }).error).toBe('authorization_pending')
    }
    const fast = await pickup(verifier, ip)
    expect(fast.status).toBe(400)
    expect(((await fast.json()) as { error: string }).error).toBe('slow_down')
    expect(((await (await pickup(makeVerifier(), ip)).json()) as { error: string }).error).toBe('authorization_pending')
  })

  it('/authorize is limited per CF-Connecting-IP with a 429 page and Retry-After; other addresses go on', async () => {
    const path = `/authorize?code_challenge=${await challengeOf(makeVerifier())}&code_challenge_method=S256`
    const ip = '192.0.2.20'
    await awayFromWindowEdge(DEFAULT_RATE_LIMITS.authorize.periodSeconds)
    const statuses = await Promise.all(Array.from({ length: DEFAULT_RATE_LIMITS.authorize.limit }, () => call(path, ip).then((r) => r.status)))
    expect(statuses.filter((status) => status === 200).length).toBe(DEFAULT_RATE_LIMITS.authorize.limit)
    const refused = await call(path, ip)
    expect(refused.status).toBe(429)
    expect(refused.headers.get('Retry-After')).toBe('60')
    expect(refused.headers.get('Content-Type')).toMatch(/^text\/html/)
    expect(await refused.text()).toContain('<code>rate_limited</code>')
    expect((await call(path, '192.0.2.21')).status).toBe(200)
  })

  it('/device is limited per CF-Connecting-IP through DEVICE_LIMITER', async () => {
    const ip = '192.0.2.30'
    await awayFromWindowEdge(DEFAULT_RATE_LIMITS.device.periodSeconds)
    // Views of the entry form count per address, and leave the global budget for wrong codes alone.
    const statuses = await Promise.all(Array.from({ length: DEFAULT_RATE_LIMITS.device.limit }, () => call('/device', ip).then((r) => r.status)))
    expect(statuses.every((status) => status === 200)).toBe(true)
    const refused = await call('/device?user_code=CCCC-CCCC', ip)
    expect(refused.status).toBe(429)
    expect(await refused.text()).toContain('<code>rate_limited</code>')
    expect((await call('/device?user_code=CCCC-CCCC', '192.0.2.31')).status).toBe(400)
  })

  // Last: it leaves code entry closed in this isolate's relay for a minute.
  it('wrong codes from every address share DEVICE_GUESS_LIMITER; once it refuses, code entry closes, found codes included', async () => {
    const authorization = await call('/device_authorization', '192.0.2.40', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: '' })
    const { user_code: userCode } = (await authorization.json()) as { user_code: string }
    await awayFromWindowEdge(DEFAULT_RATE_LIMITS.deviceGuess.periodSeconds)
    const { limit } = DEFAULT_RATE_LIMITS.deviceGuess
    // Two addresses, each well within its own limit; the one wrong code of the test above may share this window.
    const statuses = await Promise.all(Array.from({ length: limit }, (_, i) => call('/device?user_code=BBBB-BBBB', i % 2 === 0 ? '192.0.2.41' : '192.0.2.42').then((r) => r.status)))
    expect(statuses.filter((status) => status === 400).length).toBeGreaterThanOrEqual(limit - 1)
    const closed = await call('/device?user_code=DDDD-DDDD', '192.0.2.43')
    expect(closed.status).toBe(429)
    expect(Number(closed.headers.get('Retry-After'))).toBeGreaterThan(0)
    expect(await closed.text()).toContain('<code>code_entry_closed</code>')
    const honest = await call(`/device?user_code=${userCode}`, '192.0.2.40')
    expect(honest.status).toBe(429)
    expect(await honest.text()).toContain('<code>code_entry_closed</code>')
  })
})
