/**
 * @module
 * Contract of GET /callback: what is stored (read back from the real store), the browser
 * binding, RFC 9207 issuer checks, and how refusals look.
 */
import { strict as assert } from 'node:assert'
import { assertErrorPage, assertOnlyConfirmed, assertPageHeaders, contract, cookieAttributes } from './define.ts'
import { RELAY_ORIGIN } from './harness.ts'

const CODE = 'unity-code-0123456789'

export const callbackCases = [
  contract('callback: stores the code under the challenge and shows the done page', async (start) => {
    const relay = await start()
    const flow = await relay.authorize()
    const response = await relay.callback(flow, { code: CODE, state: flow.state })
    const body = await response.text()
    assert.equal(response.status, 200)
    assert.match(response.headers.get('Content-Type') ?? '', /^text\/html/)
    assert.ok(body.startsWith('<!doctype html>'), 'a standards-mode document')
    assert.match(body, /You are signed in/)
    assert.equal(body.includes(CODE), false, 'the page must not show the code')
    assert.match(body, /<style nonce="[\w+/=-]+">[^<]*font: 16px\/1\.5 system-ui, -apple-system, "Segoe UI"/, 'the stylesheet must reach the page unescaped')
    assertPageHeaders(response)
    const stored = (await relay.raw.get(flow.challenge)) as Record<string, unknown>
    assert.deepEqual(Object.keys(stored).sort(), ['code', 'exp', 'redirect_uri'])
    assert.equal(stored.code, CODE)
    assert.equal(stored.redirect_uri, `${RELAY_ORIGIN}/callback`)
    const nowSeconds = Math.floor(Date.now() / 1000)
    assert.ok(Math.abs((stored.exp as number) - (nowSeconds + 120)) <= 2, `exp ${stored.exp}`)
    const expiration = await relay.raw.expiration(flow.challenge)
    if (expiration !== undefined) assert.ok(Math.abs(expiration - (nowSeconds + 120)) <= 5, `backend expiry ${expiration}`)
  }),

  contract('callback: clears the binding cookie', async (start) => {
    const relay = await start()
    const flow = await relay.authorize()
    const response = await relay.callback(flow, { code: CODE, state: flow.state })
    const [cleared] = response.headers.getSetCookie().map(cookieAttributes)
    assert.equal(cleared?.name, flow.cookie.split('=')[0])
    assert.equal(cleared?.value, '')
    assert.equal(cleared?.attributes.get('max-age'), '0')
  }),

  contract('callback: CODE_TTL_SECONDS sets the record lifetime', async (start) => {
    const relay = await start({ env: { CODE_TTL_SECONDS: '300' } })
    const flow = await relay.authorize()
    await relay.callback(flow, { code: CODE, state: flow.state })
    const stored = (await relay.raw.get(flow.challenge)) as { exp: number }
    assert.ok(Math.abs(stored.exp - (Math.floor(Date.now() / 1000) + 300)) <= 2)
  }),

  contract('callback: return_to ends the flow there with a 303 and no code in the URL', async (start) => {
    const relay = await start()
    const flow = await relay.authorize({ return_to: 'https://app.example.com/done?tab=1' })
    const response = await relay.callback(flow, { code: CODE, state: flow.state })
    assert.equal(response.status, 303)
    const location = new URL(response.headers.get('Location') ?? '')
    assert.equal(location.href, 'https://app.example.com/done?tab=1')
    assert.equal(location.href.includes(CODE), false)
    assert.equal(response.headers.get('Referrer-Policy'), 'no-referrer')
    assert.ok(await relay.raw.get(flow.challenge))
  }),

  contract('callback: a refusal is stored as an error and explained in plain words', async (start) => {
    const relay = await start()
    const flow = await relay.authorize()
    const response = await relay.callback(flow, { error: 'access_denied', error_description: 'User said no', state: flow.state })
    const body = await response.text()
    assert.equal(response.status, 200)
    assert.match(body, /Sign-in was cancelled/)
    assert.match(body, /did not allow access/)
    assertPageHeaders(response)
    const stored = (await relay.raw.get(flow.challenge)) as Record<string, unknown>
    assert.deepEqual(Object.keys(stored).sort(), ['error', 'exp'])
    assert.equal(stored.error, 'access_denied')
  }),

  contract('callback: unknown errors map to server_error and nothing from Unity is reflected', async (start) => {
    const relay = await start()
    const flow = await relay.authorize()
    const xss = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    const response = await relay.callback(flow, { error: xss, error_description: xss, error_uri: 'javascript:alert(1)', state: flow.state })
    const body = await response.text()
    assert.equal(response.status, 200)
    assert.equal(body.includes('<script>'), false)
    assert.equal(body.includes('onerror'), false)
    assert.equal(body.includes('javascript:'), false)
    assert.equal(((await relay.raw.get(flow.challenge)) as Record<string, unknown>).error, 'server_error')
  }),

  contract('callback: the state is checked before an error is acted on', async (start) => {
    const relay = await start()
    const flow = await relay.authorize()
    const before = await relay.raw.count()
    const forged = `${flow.state.slice(0, -2)}${flow.state.endsWith('AA') ? 'BB' : 'AA'}`
    await assertErrorPage(await relay.callback(flow, { error: 'access_denied', state: forged }), 400, 'invalid_state')
    await assertErrorPage(await relay.callback(flow, { error: 'access_denied', state: 'not-a-state' }), 400, 'invalid_state')
    await assertOnlyConfirmed(relay, flow)
    assert.equal(await relay.raw.count(), before)
  }),

  contract('callback: without the binding cookie nothing is stored', async (start) => {
    const relay = await start()
    const flow = await relay.authorize()
    const response = await relay.callback(flow, { code: CODE, state: flow.state }, { cookie: null })
    await assertErrorPage(response, 400, 'browser_mismatch')
    assertPageHeaders(response)
    await assertOnlyConfirmed(relay, flow)
  }),

  contract("callback: another flow's cookie or a forged nonce is refused", async (start) => {
    const relay = await start()
    const mine = await relay.authorize()
    const other = await relay.authorize()
    await assertErrorPage(await relay.callback(mine, { code: CODE, state: mine.state }, { cookie: other.cookie }), 400, 'browser_mismatch')
    const [name] = mine.cookie.split('=')
    const forged = `${name}=${'A'.repeat(43)}`
    await assertErrorPage(await relay.callback(mine, { code: CODE, state: mine.state }, { cookie: forged }), 400, 'browser_mismatch')
    await assertOnlyConfirmed(relay, mine)
  }),

  contract('callback: a replayed callback is refused and leaves the stored code alone', async (start) => {
    const relay = await start()
    const flow = await relay.authorize()
    const first = await relay.callback(flow, { code: CODE, state: flow.state })
    assert.equal(first.status, 200)
    assert.equal(cookieAttributes(first.headers.getSetCookie()[0] ?? '').attributes.get('max-age'), '0')
    // The browser applied the clearing Set-Cookie, so the replay arrives without the binding.
    const replay = await relay.callback(flow, { code: 'attacker-code', state: flow.state }, { cookie: null })
    await assertErrorPage(replay, 400, 'browser_mismatch')
    assert.equal(((await relay.raw.get(flow.challenge)) as Record<string, unknown>).code, CODE)
  }),

  contract('callback: a second sign-in for the same challenge is refused with a page and the first record is kept', async (start) => {
    const relay = await start()
    const victim = await relay.authorize()
    // Someone who knows the challenge runs their own flow for it, in their own browser, as themselves (opened while the victim's was under way).
    const attacker = await relay.open({ verifier: victim.verifier })
    assert.equal((await relay.callback(victim, { code: CODE, state: victim.state })).status, 200)
    const first = await relay.raw.get(victim.challenge)
    await assertErrorPage(await relay.decide(attacker, 'continue'), 409, 'flow_finished')
    const response = await relay.callback(attacker, { code: 'attacker-code', state: attacker.state })
    const page = await assertErrorPage(response, 409, 'flow_finished')
    assert.match(page, /already finished/)
    assert.equal(page.includes('attacker-code'), false)
    assertPageHeaders(response)
    assert.deepEqual(await relay.raw.get(victim.challenge), first)
  }),

  contract('callback: a forged refusal cannot replace a code, nor a code a refusal', async (start) => {
    const relay = await start()
    const flow = await relay.authorize()
    const forger = await relay.open({ verifier: flow.verifier })
    await relay.callback(flow, { code: CODE, state: flow.state })
    await assertErrorPage(await relay.callback(forger, { error: 'access_denied', state: forger.state }), 409, 'flow_finished')
    assert.equal(((await relay.raw.get(flow.challenge)) as Record<string, unknown>).code, CODE)

    const cancelled = await relay.authorize()
    const late = await relay.open({ verifier: cancelled.verifier })
    await relay.callback(cancelled, { error: 'access_denied', state: cancelled.state })
    await assertErrorPage(await relay.callback(late, { code: CODE, state: late.state }), 409, 'flow_finished')
    assert.deepEqual(Object.keys((await relay.raw.get(cancelled.challenge)) as object).sort(), ['error', 'exp'])
  }),

  contract('callback and cancel: whichever finishes a flow first is kept; the other is refused with a page', async (start) => {
    const relay = await start()
    const signedIn = await relay.authorize()
    const lateCancel = await relay.open({ verifier: signedIn.verifier })
    await relay.callback(signedIn, { code: CODE, state: signedIn.state })
    await assertErrorPage(await relay.decide(lateCancel, 'cancel'), 409, 'flow_finished')
    assert.equal(((await relay.raw.get(signedIn.challenge)) as Record<string, unknown>).code, CODE)

    const cancelled = await relay.open()
    const lateSignIn = await relay.open({ verifier: cancelled.verifier })
    assert.equal((await relay.decide(cancelled, 'cancel')).status, 200)
    await assertErrorPage(await relay.decide(lateSignIn, 'continue'), 409, 'flow_finished')
    await assertErrorPage(await relay.callback(lateSignIn, { code: CODE, state: lateSignIn.state }), 409, 'flow_finished')
    assert.equal(((await relay.raw.get(cancelled.challenge)) as Record<string, unknown>).error, 'access_denied')
  }),

  contract('callback: an expired state is refused', async (start) => {
    const relay = await start()
    const flow = await relay.authorize()
    relay.advance(601)
    await assertErrorPage(await relay.callback(flow, { code: CODE, state: flow.state }), 400, 'expired_state')
    await assertOnlyConfirmed(relay, flow)
  }),

  contract('callback: a state signed with the previous key is accepted after rotation', async (start) => {
    const oldSecret = 'old-state-secret-0123456789abcdef-0123'
    const before = await start({ env: { STATE_SECRET: oldSecret } })
    // The page was shown before the rotation; Continue and the callback come after it.
    const flow = await before.open()
    const after = await start({ env: { STATE_SECRET: 'new-state-secret-0123456789abcdef-0123', STATE_SECRET_PREVIOUS: oldSecret } })
    assert.equal((await after.decide(flow, 'continue')).status, 303)
    assert.equal((await after.callback(flow, { code: CODE, state: flow.state })).status, 200)
    const dropped = await start({ env: { STATE_SECRET: 'new-state-secret-0123456789abcdef-0123' } })
    const second = await before.authorize()
    await assertErrorPage(await dropped.callback(second, { code: CODE, state: second.state }), 400, 'invalid_state')
  }),

  contract('callback: malformed responses are refused', async (start) => {
    const relay = await start()
    const flow = await relay.authorize()
    const cases: Array<Record<string, string>> = [
      { code: CODE },
      { state: flow.state },
      { state: flow.state, code: CODE, error: 'access_denied' },
      { state: flow.state, code: '' },
      { state: flow.state, code: 'x'.repeat(2049) },
    ]
    for (const params of cases) {
      await assertErrorPage(await relay.callback(flow, params), 400, 'invalid_request')
    }
    const duplicated = await relay.fetch(`/callback?state=${flow.state}&state=${flow.state}&code=${CODE}`, { headers: { Cookie: flow.cookie } })
    await assertErrorPage(duplicated, 400, 'invalid_request')
    await assertOnlyConfirmed(relay, flow)
  }),

  contract('callback: with UNITY_ISSUER set, iss must be present and equal (RFC 9207)', async (start) => {
    const issuer = 'https://unity.example.com/vu/public'
    const relay = await start({ env: { UNITY_ISSUER: issuer } })
    const missing = await relay.authorize()
    await assertErrorPage(await relay.callback(missing, { code: CODE, state: missing.state }), 400, 'issuer_mismatch')
    const other = await relay.authorize()
    await assertErrorPage(await relay.callback(other, { code: CODE, state: other.state, iss: 'https://evil.example' }), 400, 'issuer_mismatch')
    const deniedElsewhere = await relay.authorize()
    await assertErrorPage(await relay.callback(deniedElsewhere, { error: 'access_denied', state: deniedElsewhere.state, iss: 'https://evil.example' }), 400, 'issuer_mismatch')
    for (const refused of [missing, other, deniedElsewhere]) await assertOnlyConfirmed(relay, refused)
    const good = await relay.authorize()
    assert.equal((await relay.callback(good, { code: CODE, state: good.state, iss: issuer })).status, 200)
  }),

  contract('callback: without UNITY_ISSUER an iss is not required', async (start) => {
    const relay = await start()
    const flow = await relay.authorize()
    assert.equal((await relay.callback(flow, { code: CODE, state: flow.state, iss: 'https://anything.example' })).status, 200)
  }),
]
