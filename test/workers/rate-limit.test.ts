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

  it('/device code entry is limited per CF-Connecting-IP through DEVICE_LIMITER', async () => {
    const ip = '192.0.2.30'
    await awayFromWindowEdge(DEFAULT_RATE_LIMITS.device.periodSeconds)
    const statuses = await Promise.all(Array.from({ length: DEFAULT_RATE_LIMITS.device.limit }, () => call('/device?user_code=BBBB-BBBB', ip).then((r) => r.status)))
    expect(statuses.every((status) => status !== 429)).toBe(true)
    const refused = await call('/device?user_code=CCCC-CCCC', ip)
    expect(refused.status).toBe(429)
    expect(await refused.text()).toContain('<code>rate_limited</code>')
    expect((await call('/device?user_code=CCCC-CCCC', '192.0.2.31')).status).not.toBe(429)
  })
})
