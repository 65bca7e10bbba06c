/**
 * @module
 * The headers each kind of response must carry, whatever the hot path does to set them: no
 * caching and no Referer everywhere (RFC 6749 §5.1, RFC 9700 §4.2.4), the fixed security headers,
 * and a CSP whose nonce is fresh per page and matches the page's stylesheet, while JSON and
 * redirects get the fixed policy with no nonce at all.
 */
import { strict as assert } from 'node:assert'
import { contract } from './define.ts'
import type { Start } from './define.ts'
import { RELAY_ORIGIN } from './harness.ts'

/** The policy of every response that is not an HTML page, written out here rather than imported. */
const API_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** Checks what every response carries; returns the CSP. */
function assertCommonHeaders(response: Response, what: string, referrerPolicy = 'no-referrer'): string {
  const header = (name: string) => response.headers.get(name)
  assert.equal(header('Cache-Control'), 'no-store', `${what}: Cache-Control`)
  assert.equal(header('Pragma'), 'no-cache', `${what}: Pragma`)
  assert.equal(header('Referrer-Policy'), referrerPolicy, `${what}: Referrer-Policy`)
  assert.equal(header('X-Content-Type-Options'), 'nosniff', `${what}: X-Content-Type-Options`)
  assert.equal(header('X-Frame-Options'), 'SAMEORIGIN', `${what}: X-Frame-Options`)
  assert.equal(header('Cross-Origin-Opener-Policy'), 'same-origin', `${what}: Cross-Origin-Opener-Policy`)
  assert.equal(header('Strict-Transport-Security'), 'max-age=15552000; includeSubDomains', `${what}: Strict-Transport-Security`)
  // The rest of hono/secure-headers' defaults, which the relay sets itself in one pass.
  assert.equal(header('Cross-Origin-Resource-Policy'), 'same-origin', `${what}: Cross-Origin-Resource-Policy`)
  assert.equal(header('Origin-Agent-Cluster'), '?1', `${what}: Origin-Agent-Cluster`)
  assert.equal(header('X-DNS-Prefetch-Control'), 'off', `${what}: X-DNS-Prefetch-Control`)
  assert.equal(header('X-Download-Options'), 'noopen', `${what}: X-Download-Options`)
  assert.equal(header('X-Permitted-Cross-Domain-Policies'), 'none', `${what}: X-Permitted-Cross-Domain-Policies`)
  assert.equal(header('X-XSS-Protection'), '0', `${what}: X-XSS-Protection`)
  return header('Content-Security-Policy') ?? ''
}

/** An HTML page: its CSP allows exactly the nonce its `<style>` carries. Returns the nonce. */
async function assertPage(response: Response, what: string, options: { referrerPolicy?: string; formAction?: string; script?: boolean } = {}): Promise<string> {
  const body = await response.text()
  assert.match(response.headers.get('Content-Type') ?? '', /^text\/html/, what)
  const csp = assertCommonHeaders(response, what, options.referrerPolicy)
  const nonce = /<style nonce="([^"]+)">/.exec(body)?.[1]
  assert.ok(nonce !== undefined && nonce.length >= 22, `${what}: the stylesheet carries a nonce`)
  // Only the confirmation page runs a script (its intent gate), under the same nonce as its stylesheet.
  const scripts = [...body.matchAll(/<script([^>]*)>/g)].map((match) => match[1])
  assert.deepEqual(scripts, options.script ? [` nonce="${nonce}"`] : [], `${what}: scripts`)
  assert.equal(
    csp,
    `default-src 'none'; style-src 'nonce-${nonce}';${options.script ? ` script-src 'nonce-${nonce}';` : ''} base-uri 'none'; form-action ${options.formAction ?? "'none'"}; frame-ancestors 'none'`,
    `${what}: CSP`,
  )
  return nonce
}

/** JSON or a redirect: the fixed policy, no nonce anywhere. */
async function assertNotPage(response: Response, what: string): Promise<void> {
  await response.arrayBuffer()
  assert.doesNotMatch(response.headers.get('Content-Type') ?? '', /^text\/html/, what)
  assert.equal(assertCommonHeaders(response, what), API_CSP, `${what}: CSP`)
}

async function signedIn(start: Start, env: Record<string, string> = {}) {
  const relay = await start({ env })
  return { relay, flow: await relay.authorize() }
}

export const headersCases = [
  contract('headers: every page has a fresh CSP nonce that matches its stylesheet, and no-store', async (start) => {
    const relay = await start()
    const first = await relay.open()
    const unityOrigin = new URL(relay.config.authorizeEndpoint).origin
    const confirm = { referrerPolicy: 'same-origin', formAction: `'self' ${unityOrigin}`, script: true }
    const firstNonce = await assertPage(new Response(first.page, first.response), 'confirmation page', confirm)
    const second = await relay.open()
    const secondNonce = await assertPage(new Response(second.page, second.response), 'second confirmation page', confirm)
    assert.notEqual(firstNonce, secondNonce, 'a nonce is never reused')

    await assertPage(await relay.decide(second, 'cancel'), 'cancelled page')
    const { flow } = await signedIn(start)
    await assertPage(await relay.callback(flow, { code: 'c', state: flow.state }), 'done page')
    const denied = await signedIn(start)
    await assertPage(await denied.relay.callback(denied.flow, { error: 'access_denied', state: denied.flow.state }), 'denied page')
    await assertPage(await relay.fetch('/callback?code=c&state=v1.forged'), 'error page')
    await assertPage(await relay.fetch('/'), 'landing page')
  }),

  contract('headers: JSON answers and redirects carry the fixed policy with no nonce, and no-store', async (start) => {
    const relay = await start()
    await assertNotPage(await relay.fetch('/healthz'), '/healthz')
    const opened = await relay.open()
    await assertNotPage(await relay.decide(opened, 'continue'), 'Continue redirect')
    await assertNotPage(await relay.pickup(opened.verifier), 'pending poll')
    const form = { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'grant_type=password' }
    await assertNotPage(await relay.fetch('/token', form), 'token error')

    const never = await start({ env: { CONFIRM_PAGE: 'never' } })
    await assertNotPage((await never.open()).response, 'CONFIRM_PAGE=never redirect')
  }),

  contract('headers: answers made with their headers in place, and the ones Hono copies, carry the same set', async (start) => {
    const relay = await start()
    const flow = await relay.authorize()
    const form = { 'Content-Type': 'application/x-www-form-urlencoded' }
    // hono/cors copies the handler's Response to add its headers: the copy must still get every header.
    const fromApp = await relay.fetch('/token', {
      method: 'POST',
      headers: { ...form, Origin: 'https://app.example.com' },
      body: `grant_type=authorization_code&code_verifier=${flow.verifier}`,
    })
    assert.equal(fromApp.headers.get('Access-Control-Allow-Origin'), 'https://app.example.com')
    await assertNotPage(fromApp, 'pending poll with CORS')
    // An error's own headers go on top of the fixed ones.
    const get = await relay.fetch('/token')
    assert.equal(get.headers.get('Allow'), 'POST')
    await assertNotPage(get, '405')
    assert.equal((await relay.callback(flow, { code: 'unity-code', state: flow.state })).status, 200)
    relay.unity.expectTokenCall(
      { grant_type: 'authorization_code', code: 'unity-code', redirect_uri: `${RELAY_ORIGIN}/callback`, code_verifier: flow.verifier },
      { status: 200, body: '{"access_token":"at","token_type":"Bearer"}' },
    )
    const tokens = await relay.pickup(flow.verifier)
    assert.equal(tokens.status, 200)
    assert.equal(tokens.headers.get('Content-Type'), 'application/json; charset=UTF-8')
    await assertNotPage(tokens, 'token answer')
    // Templates are per content type and never shared: the two answers above must not have leaked into the next.
    const next = await relay.pickup(flow.verifier)
    assert.equal(next.headers.get('Allow'), null)
    assert.equal(next.headers.get('Access-Control-Allow-Origin'), null)
    await assertNotPage(next, 'answer after them')
  }),
]
