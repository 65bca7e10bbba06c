/**
 * @module
 * Contract of the confirmation page (CONFIRM_PAGE=always, the default): GET /authorize shows the
 * user code and stores nothing; only a POST from the relay's own page, in the browser that
 * started the flow, records its confirmation and continues to Unity, or records a cancellation.
 */
import { strict as assert } from 'node:assert'
import { INTENT_GATE_SCRIPT } from '../../src/intent-gate.ts'
import { SHOWN_USER_CODE_PATTERN, userCodeFor } from '../../src/user-code.ts'
import { assertErrorPage, assertOnlyConfirmed, assertPageHeaders, contract, cookieAttributes, expectedConfirmation } from './define.ts'
import type { Start } from './define.ts'
import { RELAY_ORIGIN } from './harness.ts'
import type { DecideOptions, Opened, RelayUnderTest } from './harness.ts'

/** RFC 7636 Appendix B's challenge; its user code was computed outside the relay with node:crypto. */
const VECTOR_CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'
const VECTOR_USER_CODE = 'BGBP-FFBB'

/** The nonce the page's CSP allows. */
function cspNonceOf(response: Response): string {
  return /'nonce-([^']+)'/.exec(response.headers.get('Content-Security-Policy') ?? '')?.[1] ?? ''
}

function cspDirective(response: Response, name: string): string | undefined {
  const csp = response.headers.get('Content-Security-Policy') ?? ''
  return csp.split(';').map((part) => part.trim()).find((part) => part.startsWith(`${name} `))
}

/** Posts a decision that must be refused: a 4xx page, no redirect, no cookie change and nothing stored. */
async function assertRefused(relay: RelayUnderTest, opened: Opened, options: DecideOptions, status: number, code: string): Promise<void> {
  const before = await relay.raw.count()
  for (const decision of ['continue', 'cancel']) {
    const response = await relay.decide(opened, decision, options)
    await assertErrorPage(response, status, code)
    assert.equal(response.headers.get('Location'), null, `${decision}: no redirect`)
    assert.deepEqual(response.headers.getSetCookie(), [], `${decision}: the binding cookie is kept`)
  }
  assert.equal(await relay.raw.get(opened.challenge), null, 'nothing stored for the flow')
  assert.equal(await relay.raw.count(), before, 'nothing stored at all')
}

async function opened(start: Start, env: Record<string, string | undefined> = {}) {
  const relay = await start({ env })
  return { relay, flow: await relay.open() }
}

export const confirmCases = [
  contract('confirm: the user code is the documented derivation (test vector)', async () => {
    assert.equal(await userCodeFor(VECTOR_CHALLENGE), VECTOR_USER_CODE)
    const codes = new Set<string>()
    for (let i = 0; i < 50; i++) {
      const code = await userCodeFor(`${'A'.repeat(40)}${String(i).padStart(3, '0')}`)
      assert.match(code, SHOWN_USER_CODE_PATTERN)
      codes.add(code)
    }
    assert.equal(codes.size, 50, 'different challenges give different codes')
  }),

  contract('confirm: GET /authorize shows the page and stores nothing, with no Unity call', async (start) => {
    const { relay, flow } = await opened(start)
    const { response, page } = flow
    assert.equal(response.status, 200)
    assert.match(response.headers.get('Content-Type') ?? '', /^text\/html/)
    assert.equal(response.headers.get('Location'), null)
    assertPageHeaders(response, { referrerPolicy: 'same-origin', formAction: "'self' https://unity.example.com" })
    assert.ok(page.includes(`<div class="user-code" role="status" aria-label="Code ${(await userCodeFor(flow.challenge)).split('').join(' ')}">${await userCodeFor(flow.challenge)}</div>`), page)
    assert.ok(page.startsWith('<!doctype html>'), 'a standards-mode document')
    assert.match(page, /sign you in to Unity at <strong>unity\.example\.com<\/strong>/)
    assert.match(page, /use Unity’s API as you \(scope: api\)/)
    assert.match(page, /Only continue if you started signing in from an app yourself, and that app shows this code/)
    assert.match(page, /If a web page, an email or a message sent you here, cancel/)
    assert.match(page, /<form method="post" action="\/authorize" data-gate="">/)
    assert.match(page, /<button type="submit" name="decision" value="continue" class="primary">Continue<\/button>/)
    assert.match(page, /<button type="submit" name="decision" value="cancel" class="secondary">Cancel<\/button>/)
    assert.deepEqual([...page.matchAll(/<script[^>]*>/g)].map(([tag]) => tag), [`<script nonce="${cspNonceOf(response)}">`], 'the intent gate is the one script')
    assert.ok(page.includes(INTENT_GATE_SCRIPT), 'the gate as written')
    assert.match(page, /<meta name="viewport" content="width=device-width, initial-scale=1"\/?>/)
    assert.match(page, /prefers-color-scheme: dark/)
    assert.equal(response.headers.getSetCookie().length, 1, 'the binding cookie is set')
    assert.equal(await relay.raw.get(flow.challenge), null)
    assert.equal(relay.unity.calls.length, 0)
  }),

  contract('confirm: the page names the scope asked for and Unity\u2019s host with its port', async (start) => {
    const relay = await start({ env: { UNITY_URL: 'https://unity.example.com:9443/vu/public' } })
    const { page, response } = await relay.open({ scope: 'api offline' })
    assert.match(page, /at <strong>unity\.example\.com:9443<\/strong>/)
    assert.match(page, /with these permissions: api, offline/)
    assert.equal(cspDirective(response, 'form-action'), "form-action 'self' https://unity.example.com:9443")
  }),

  contract('confirm: markup in the scope (RFC 6749 §3.3 allows < > \' &) is shown as text on the page', async (start) => {
    const relay = await start()
    const { page, response } = await relay.open({ scope: `<script>alert('x')</script> api&<b/title='y'>` })
    assert.equal(response.status, 200, page)
    assert.ok(page.includes('with these permissions: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;, api&amp;&lt;b/title=&#39;y&#39;&gt;. Unity uses the account'), page)
    assert.equal(page.replace(INTENT_GATE_SCRIPT, '').match(/<script/g)?.length, 1, 'only the gate\u2019s own script tag')
    assert.equal(page.includes('<b/'), false)
  }),

  contract('confirm: the CSP form-action allows the relay and Unity only on the page, and none elsewhere', async (start) => {
    const { relay, flow } = await opened(start)
    assert.equal(cspDirective(flow.response, 'form-action'), "form-action 'self' https://unity.example.com")
    assert.match(cspDirective(flow.response, 'style-src') ?? '', /^style-src 'nonce-[\w+/=-]+'$/)
    const healthz = await relay.fetch('/healthz')
    assert.equal(cspDirective(healthz, 'form-action'), "form-action 'none'")
    const refused = await relay.fetch('/authorize')
    assert.equal(cspDirective(refused, 'form-action'), "form-action 'none'")
  }),

  contract('confirm: Continue answers 303 to exactly the Unity authorize URL and keeps the cookie', async (start) => {
    const { relay, flow } = await opened(start, { RETURN_TO_ALLOWLIST: undefined })
    const response = await relay.decide(flow, 'continue')
    assert.equal(response.status, 303)
    assert.equal(response.headers.get('Referrer-Policy'), 'no-referrer', 'Unity gets no Referer')
    const url = new URL(response.headers.get('Location') ?? '')
    assert.equal(`${url.origin}${url.pathname}`, 'https://unity.example.com/vu/public/api/oauth/authorize')
    assert.deepEqual(Object.fromEntries(url.searchParams), {
      response_type: 'code',
      client_id: 'relay-test',
      redirect_uri: `${RELAY_ORIGIN}/callback`,
      scope: 'api',
      state: flow.state,
      code_challenge: flow.challenge,
      code_challenge_method: 'S256',
    })
    assert.equal([...url.searchParams.keys()].length, 7, 'no repeated parameter')
    assert.deepEqual(response.headers.getSetCookie(), [], 'the callback still needs the cookie')
    await assertOnlyConfirmed(relay, flow)
  }),

  contract('confirm: CONFIRM_PAGE=never and Continue send the browser to the same URL for the same flow', async (start) => {
    const never = await start({ env: { CONFIRM_PAGE: 'never' } })
    const always = await start()
    const direct = (await never.authorize()).location
    const confirmed = (await always.authorize()).location
    const shape = (url: URL) => [url.origin, url.pathname, [...url.searchParams.keys()].join(',')]
    assert.deepEqual(shape(confirmed), shape(direct))
  }),

  contract('confirm: Cancel records access_denied, clears the cookie, and the app learns it', async (start) => {
    const { relay, flow } = await opened(start)
    const response = await relay.decide(flow, 'cancel')
    const body = await response.text()
    assert.equal(response.status, 200)
    assert.match(body, /Sign-in cancelled/)
    assert.match(body, /Nothing was shared with the app/)
    assert.equal(response.headers.get('Location'), null)
    const [cleared] = response.headers.getSetCookie().map(cookieAttributes)
    assert.equal(cleared?.name, flow.cookie.split('=')[0])
    assert.equal(cleared?.attributes.get('max-age'), '0')
    const stored = (await relay.raw.get(flow.challenge)) as Record<string, unknown>
    assert.deepEqual(Object.keys(stored).sort(), ['error', 'exp'])
    assert.equal(stored.error, 'access_denied')
    assert.ok(Math.abs((stored.exp as number) - (Math.floor(Date.now() / 1000) + 120)) <= 2, `exp ${stored.exp}`)
    const pickup = await relay.pickup(flow.verifier)
    const json = (await pickup.json()) as Record<string, unknown>
    assert.equal(pickup.status, 400)
    assert.equal(json.error, 'access_denied')
    assert.equal(relay.unity.calls.length, 0)
  }),

  contract('confirm: Cancel with a return_to records the refusal and sends the browser back', async (start) => {
    const relay = await start()
    const flow = await relay.open({ return_to: 'https://app.example.com/after' })
    const response = await relay.decide(flow, 'cancel')
    assert.equal(response.status, 303)
    assert.equal(response.headers.get('Location'), 'https://app.example.com/after')
    assert.equal(((await relay.raw.get(flow.challenge)) as Record<string, unknown>).error, 'access_denied')
  }),

  contract('confirm: a decision without the flow\u2019s cookie, or with another flow\u2019s, is refused', async (start) => {
    const { relay, flow } = await opened(start)
    const other = await relay.open()
    await assertRefused(relay, flow, { cookie: null }, 400, 'browser_mismatch')
    await assertRefused(relay, flow, { cookie: other.cookie }, 400, 'browser_mismatch')
    const [name] = flow.cookie.split('=')
    await assertRefused(relay, flow, { cookie: `${name}=${other.cookie.split('=')[1]}` }, 400, 'browser_mismatch')
  }),

  contract('confirm: a decision posted by another site is refused before anything else', async (start) => {
    const { relay, flow } = await opened(start)
    await assertRefused(relay, flow, { headers: { 'Sec-Fetch-Site': 'cross-site' } }, 403, 'cross_site_request')
    await assertRefused(relay, flow, { headers: { 'Sec-Fetch-Site': 'same-site', Origin: 'https://evil.example.com' } }, 403, 'cross_site_request')
    await assertRefused(relay, flow, { headers: { 'Sec-Fetch-Site': undefined, Origin: 'https://evil.example' } }, 403, 'cross_site_request')
    await assertRefused(relay, flow, { headers: { Origin: 'null' } }, 403, 'cross_site_request')
    await assertRefused(relay, flow, { headers: { Origin: 'http://relay.example.com' } }, 403, 'cross_site_request')
    // Another site cannot read the page, so it cannot know the state: refused even with a garbled one.
    await assertRefused(relay, flow, { headers: { 'Sec-Fetch-Site': 'cross-site' }, state: 'x' }, 403, 'cross_site_request')
  }),

  contract('confirm: a sibling site is refused even without a foreign Origin, and Origin is compared whole', async (start) => {
    const { relay, flow } = await opened(start)
    // A same-site page (another subdomain, or this host on another port) may send no Origin, or the relay's own.
    await assertRefused(relay, flow, { headers: { 'Sec-Fetch-Site': 'same-site', Origin: undefined } }, 403, 'cross_site_request')
    await assertRefused(relay, flow, { headers: { 'Sec-Fetch-Site': 'same-site' } }, 403, 'cross_site_request')
    // Look-alikes that start with the relay's origin.
    await assertRefused(relay, flow, { headers: { Origin: `${RELAY_ORIGIN}.evil` } }, 403, 'cross_site_request')
    await assertRefused(relay, flow, { headers: { Origin: `${RELAY_ORIGIN}:8443` } }, 403, 'cross_site_request')
    assert.equal((await relay.decide(flow, 'continue')).status, 303, 'the page itself still works')
  }),

  contract('confirm: a decision without Fetch Metadata or Origin (an old browser) still needs the cookie', async (start) => {
    const { relay, flow } = await opened(start)
    await assertRefused(relay, flow, { headers: { 'Sec-Fetch-Site': undefined, Origin: undefined }, cookie: null }, 400, 'browser_mismatch')
    const response = await relay.decide(flow, 'continue', { headers: { 'Sec-Fetch-Site': undefined, Origin: undefined } })
    assert.equal(response.status, 303)
  }),

  contract('confirm: behind REDIRECT_URI the relay\u2019s own origin is the public one', async (start) => {
    const relay = await start({ env: { REDIRECT_URI: 'https://login.example.com/relay/callback' } })
    const flow = await relay.open()
    await assertRefused(relay, flow, { headers: { Origin: RELAY_ORIGIN } }, 403, 'cross_site_request')
    const response = await relay.decide(flow, 'continue', { headers: { Origin: 'https://login.example.com' } })
    assert.equal(response.status, 303)
    assert.equal(new URL(response.headers.get('Location') ?? '').searchParams.get('redirect_uri'), 'https://login.example.com/relay/callback')
  }),

  contract('confirm: a tampered, foreign or expired state is refused', async (start) => {
    const { relay, flow } = await opened(start)
    const last = flow.state.at(-1) === 'A' ? 'B' : 'A'
    await assertRefused(relay, flow, { state: `${flow.state.slice(0, -1)}${last}` }, 400, 'invalid_state')
    await assertRefused(relay, flow, { state: 'v1.x.y.z' }, 400, 'invalid_state')
    const stranger = await start({ env: { STATE_SECRET: 'another-relay-state-secret-0123456789abcdef' } })
    await assertRefused(relay, flow, { state: (await stranger.open()).state }, 400, 'invalid_state')
    relay.advance(601)
    await assertRefused(relay, flow, {}, 400, 'expired_state')
  }),

  contract('confirm: a malformed decision is refused with a page and stores nothing', async (start) => {
    const { relay, flow } = await opened(start)
    const before = await relay.raw.count()
    const post = (body: string, contentType = 'application/x-www-form-urlencoded') =>
      relay.fetch('/authorize', { method: 'POST', headers: { 'Content-Type': contentType, Origin: RELAY_ORIGIN, 'Sec-Fetch-Site': 'same-origin', Cookie: flow.cookie }, body })
    const state = encodeURIComponent(flow.state)
    for (const body of [`state=${state}`, `state=${state}&decision=allow`, `state=${state}&decision=`, `state=${state}&decision=continue&decision=cancel`, 'decision=continue', `state=${state}&state=${state}&decision=continue`]) {
      const response = await post(body)
      await assertErrorPage(response, 400, 'invalid_request')
      assert.equal(response.headers.get('Location'), null, body)
    }
    await assertErrorPage(await post(JSON.stringify({ state: flow.state, decision: 'continue' }), 'application/json'), 400, 'invalid_request')
    assert.equal(await relay.raw.count(), before)
  }),

  contract('confirm: after Cancel, Continue in the same browser no longer works', async (start) => {
    const { relay, flow } = await opened(start)
    assert.equal((await relay.decide(flow, 'cancel')).status, 200)
    const cleared = { cookie: null }
    await assertErrorPage(await relay.decide(flow, 'continue', cleared), 400, 'browser_mismatch')
  }),
]
