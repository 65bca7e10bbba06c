/**
 * The Workers entry: bindings and vars reach the core, misconfiguration is a 500 on every
 * route naming the setting, and settings are validated once per isolate.
 */
import { env, exports } from 'cloudflare:workers'
import { createExecutionContext } from 'cloudflare:test'
import { describe, expect, it, vi } from 'vitest'
import { REDIRECT_URI_WARNING } from '../../src/app.ts'
import worker from '../../src/index.ts'
import type { Env } from '../../src/index.ts'

const ORIGIN = 'https://relay.example.com'

/** A request as the Worker receives it; its `cf` holds only what a case sets. */
type IncomingRequest = Request<unknown, IncomingRequestCfProperties>
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'

function call(path: string, workerEnv: Env): Promise<Response> {
  return Promise.resolve(worker.fetch(new Request(`${ORIGIN}${path}`), workerEnv, createExecutionContext()))
}

describe('Workers entry', () => {
  it('serves the relay with the configured bindings and vars', async () => {
    const health = await exports.default.fetch(`${ORIGIN}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ ok: true, warnings: [REDIRECT_URI_WARNING] })
    expect(await (await call('/healthz', { ...env, REDIRECT_URI: `${ORIGIN}/callback` })).json()).toEqual({ ok: true })
    const page = await exports.default.fetch(`${ORIGIN}/authorize?code_challenge=${CHALLENGE}&code_challenge_method=S256`, { redirect: 'manual', headers: { 'Sec-Fetch-Site': 'none' } })
    const html = await page.text()
    expect(page.status).toBe(200)
    // The test vector for RFC 7636 Appendix B's challenge, as docs/clients.md documents it.
    expect(html).toContain('>BGBP-FFBB</div>')
    expect(html).toContain('<strong>unity.test</strong>')
    const state = /name="state" value="([^"]+)"/.exec(html)?.[1] ?? ''
    const cookie = (page.headers.get('Set-Cookie') ?? '').split(';')[0] ?? ''
    const confirmed = await exports.default.fetch(`${ORIGIN}/authorize`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: ORIGIN, 'Sec-Fetch-Site': 'same-origin', Cookie: cookie },
      body: new URLSearchParams({ state, decision: 'continue' }),
    })
    expect(confirmed.status).toBe(303)
    const location = new URL(confirmed.headers.get('Location') ?? '')
    expect(`${location.origin}${location.pathname}`).toBe('https://unity.test/vu/public/api/oauth/authorize')
    expect(location.searchParams.get('client_id')).toBe('relay-test')
    expect(location.searchParams.get('redirect_uri')).toBe(`${ORIGIN}/callback`)
    expect(location.searchParams.get('state')).toBe(state)
  })

  it('tells the user where a device asked from, from request.cf: a country and a network, never an address', async () => {
    const ask = new Request(`${ORIGIN}/device_authorization`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'CF-Connecting-IP': '203.0.113.7' },
      body: '',
      cf: { country: 'DE', asOrganization: 'Deutsche Telekom AG' },
    })
    const device = (await (await worker.fetch(ask as IncomingRequest, env, createExecutionContext())).json()) as { user_code: string }
    const stored = (await env.AUTH_CODES?.get(`device:${device.user_code.replace('-', '')}`, 'json')) as Record<string, unknown>
    expect(stored.from).toEqual({ country: 'DE', network: 'Deutsche Telekom AG' })
    expect(JSON.stringify(stored)).not.toContain('203.0.113.7')
    const entry = new Request(`${ORIGIN}/device?user_code=${device.user_code}`, { headers: { 'Sec-Fetch-Site': 'same-origin' }, cf: { country: 'FR', asOrganization: 'Orange' } })
    const html = await (await worker.fetch(entry as IncomingRequest, env, createExecutionContext())).text()
    expect(html).toContain(', from Germany, on the network of Deutsche Telekom AG.')
    expect(html).toContain('That device is in Germany, but this browser is in France.')
  })

  it('answers every route with a 500 naming the missing setting, never a value', async () => {
    const broken: Env = { ...env, UNITY_URL: undefined, STATE_SECRET: 'too-short-secret-value' }
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    for (const path of ['/healthz', '/token', '/nowhere']) {
      const response = await call(path, broken)
      const body = (await response.json()) as { error: string; error_description: string }
      expect(response.status, path).toBe(500)
      expect(body.error).toBe('server_error')
      expect(body.error_description).toContain('UNITY_URL is missing')
      expect(body.error_description).toContain('STATE_SECRET must be at least 32 bytes')
      expect(body.error_description).not.toContain('too-short-secret-value')
    }
    const page = await call(`/authorize?code_challenge=${CHALLENGE}&code_challenge_method=S256`, broken)
    expect(page.status).toBe(500)
    expect(page.headers.get('Content-Type')).toMatch(/^text\/html/)
    const html = await page.text()
    expect(html).toContain('The relay is misconfigured')
    expect(html).toContain('UNITY_URL')
    const lines = errors.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>)
    errors.mockRestore()
    expect(lines).toHaveLength(4)
    for (const line of lines) {
      expect(line).toEqual({ level: 'error', event: 'request.failed', status: 500, error: 'misconfigured', settings: ['UNITY_URL', 'STATE_SECRET'] })
    }
  })

  it('names a missing KV binding', async () => {
    const response = await call('/healthz', { ...env, AUTH_CODES: undefined })
    expect(response.status).toBe(500)
    expect(((await response.json()) as { error_description: string }).error_description).toContain('AUTH_CODES')
  })

  it('validates the settings once per isolate, not per request', async () => {
    let reads = 0
    const counted: Env = {
      ...env,
      get UNITY_URL() {
        reads++
        return 'https://unity.test/vu/public'
      },
    }
    for (let i = 0; i < 3; i++) expect((await call('/healthz', counted)).status).toBe(200)
    expect(reads).toBe(1)
  })
})
