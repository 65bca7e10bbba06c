/**
 * @module
 * Contract of the confirmation a Continue records: a callback is accepted only for a state whose
 * Continue was pressed, in the browser that pressed it (RFC 9700 §4.5, code injection), and one
 * flow ends in exactly one result however many requests race for it.
 */
import { strict as assert } from 'node:assert'
import { assertErrorPage, assertJsonError, assertOnlyConfirmed, contract, expectedConfirmation } from './define.ts'
import type { Flow, Opened, RelayUnderTest } from './harness.ts'

const VICTIM_CODE = 'victim-unity-code-0123456789'

/** Continue as the page's form posts it; asserts the 303 and returns the flow as `authorize()` would. */
async function pressContinue(relay: RelayUnderTest, opened: Opened): Promise<Flow> {
  const response = await relay.decide(opened, 'continue')
  assert.equal(response.status, 303, await response.clone().text())
  return { ...opened, location: new URL(response.headers.get('Location') ?? '') }
}

export const confirmedCases = [
  contract('confirmed: on a PKCE-off relay, a leaked code with the attacker\u2019s own state and cookie (no Continue) is refused', async (start) => {
    const relay = await start({ env: { UNITY_PKCE: 'off' } })
    // The victim's login, whose Unity code leaks before the victim's own callback uses it.
    const victim = await relay.authorize()
    // The attacker's own GET /authorize: a valid state and binding cookie, but no Continue.
    const attacker = await relay.open()
    const response = await relay.callback(attacker, { code: VICTIM_CODE, state: attacker.state })
    const page = await assertErrorPage(response, 400, 'not_confirmed')
    assert.match(page, /was not confirmed on the relay’s page/)
    assert.equal(page.includes(VICTIM_CODE), false)
    assert.equal(await relay.raw.get(attacker.challenge), null, 'nothing stored for the attacker\u2019s flow')
    await assertOnlyConfirmed(relay, victim)
    await assertJsonError(await relay.pickup(attacker.verifier), 400, 'authorization_pending')
    assert.equal(relay.unity.calls.length, 0, 'Unity never sees the code')
    assert.ok(relay.logs.some((line) => line.includes('"event":"request.refused"') && line.includes('"error":"not_confirmed"')))
  }),

  contract('confirmed: a cookie planted by another server on the relay\u2019s host name, sent straight to Unity, is refused', async (start) => {
    const relay = await start()
    // The planting page holds the nonce of a GET /authorize it made itself, and skips Continue.
    const planted = await relay.open()
    for (const answer of [{ code: VICTIM_CODE }, { error: 'access_denied' }] as Record<string, string>[]) {
      await assertErrorPage(await relay.callback(planted, { ...answer, state: planted.state }), 400, 'not_confirmed')
    }
    assert.equal(await relay.raw.get(planted.challenge), null)
    await assertJsonError(await relay.pickup(planted.verifier), 400, 'authorization_pending')
  }),

  contract('confirmed: Continue records the confirmation; the same browser again is a 303; another browser\u2019s is refused', async (start) => {
    const relay = await start()
    const opened = await relay.open()
    const first = await pressContinue(relay, opened)
    await assertOnlyConfirmed(relay, opened)
    const again = await pressContinue(relay, opened)
    assert.equal(again.location.href, first.location.href, 'a double submit or the back button')
    await assertOnlyConfirmed(relay, opened)

    const elsewhere = await relay.open({ verifier: opened.verifier })
    const refused = await relay.decide(elsewhere, 'continue')
    const page = await assertErrorPage(refused, 409, 'flow_in_progress')
    assert.match(page, /continued in another tab or browser/)
    assert.equal(refused.headers.get('Location'), null)
    await assertErrorPage(await relay.decide(elsewhere, 'cancel'), 409, 'flow_in_progress')
    await assertOnlyConfirmed(relay, opened)

    const callback = await relay.callback(first, { code: VICTIM_CODE, state: first.state })
    assert.equal(callback.status, 200)
    assert.deepEqual(Object.keys((await relay.raw.get(opened.challenge)) as object).sort(), ['code', 'exp', 'redirect_uri'])
    assert.equal(((await relay.raw.get(opened.challenge)) as { code: string }).code, VICTIM_CODE)
  }),

  contract('confirmed: the record is the binding hash and the state\u2019s exp, and the backend drops it then', async (start) => {
    const relay = await start({ env: { STATE_TTL_SECONDS: '900' } })
    const opened = await relay.open()
    await pressContinue(relay, opened)
    const stored = (await relay.raw.get(opened.challenge)) as Record<string, unknown>
    assert.deepEqual(Object.keys(stored).sort(), ['confirmed', 'exp'])
    assert.deepEqual(stored, await expectedConfirmation(opened))
    assert.match(String(stored.confirmed), /^[\w-]{22}$/)
    assert.equal(JSON.stringify(stored).includes(opened.cookie.split('=')[1] ?? ''), false, 'the nonce itself is never stored')
    const nowSeconds = Math.floor(Date.now() / 1000)
    assert.ok(Math.abs((stored.exp as number) - (nowSeconds + 900)) <= 2, `exp ${stored.exp}`)
    const expiration = await relay.raw.expiration(opened.challenge)
    if (expiration !== undefined) assert.ok(Math.abs(expiration - (stored.exp as number)) <= 2, `backend expiry ${expiration}`)
  }),

  contract('confirmed: a callback for browser A when browser B pressed Continue is refused', async (start) => {
    const relay = await start()
    const a = await relay.open()
    const b = await pressContinue(relay, await relay.open({ verifier: a.verifier }))
    await assertErrorPage(await relay.callback(a, { code: VICTIM_CODE, state: a.state }), 400, 'not_confirmed')
    await assertOnlyConfirmed(relay, b)
    assert.equal((await relay.callback(b, { code: VICTIM_CODE, state: b.state })).status, 200)
  }),

  contract('confirmed: Cancel after Continue replaces the confirmation with access_denied; a callback after it is refused', async (start) => {
    const relay = await start()
    const opened = await relay.open()
    const flow = await pressContinue(relay, opened)
    assert.equal((await relay.decide(opened, 'cancel')).status, 200)
    const stored = (await relay.raw.get(opened.challenge)) as Record<string, unknown>
    assert.deepEqual(Object.keys(stored).sort(), ['cancelled', 'error', 'exp'])
    assert.equal(stored.error, 'access_denied')
    // Unity's answer racing the Cancel, with the cookie the Cancel's answer had not yet cleared.
    await assertErrorPage(await relay.callback(flow, { code: VICTIM_CODE, state: flow.state }), 409, 'flow_finished')
    assert.equal(((await relay.raw.get(opened.challenge)) as Record<string, unknown>).error, 'access_denied')
    await assertJsonError(await relay.pickup(opened.verifier), 400, 'access_denied')
  }),

  contract('confirmed: 10 concurrent callbacks for one confirmed flow store exactly one code (5 rounds)', async (start) => {
    const relay = await start()
    for (let round = 0; round < 5; round++) {
      const flow = await relay.authorize()
      const responses = await Promise.all(Array.from({ length: 10 }, (_, i) => relay.callback(flow, { code: `code-${round}-${i}`, state: flow.state })))
      const statuses = responses.map((response) => response.status)
      assert.equal(statuses.filter((status) => status === 200).length, 1, `round ${round}: ${statuses.join(' ')}`)
      for (const [i, response] of responses.entries()) if (response.status !== 200) await assertErrorPage(response, 409, 'flow_finished').catch((error: unknown) => assert.fail(`round ${round}, callback ${i}: ${String(error)}`))
      const stored = (await relay.raw.get(flow.challenge)) as { code: string }
      assert.equal(stored.code, `code-${round}-${statuses.indexOf(200)}`, 'the stored code is the answered one')
    }
  }),

  contract('confirmed: a callback and a Cancel at once: exactly one of them ends the flow (5 rounds)', async (start) => {
    const relay = await start()
    for (let round = 0; round < 5; round++) {
      const opened = await relay.open()
      const flow = await pressContinue(relay, opened)
      const [callback, cancel] = await Promise.all([relay.callback(flow, { code: VICTIM_CODE, state: flow.state }), relay.decide(opened, 'cancel')])
      const statuses = [callback.status, cancel.status]
      assert.deepEqual([...statuses].sort(), [200, 409], `round ${round}: ${statuses.join(' ')}`)
      const stored = (await relay.raw.get(opened.challenge)) as Record<string, unknown>
      if (callback.status === 200) assert.equal(stored.code, VICTIM_CODE)
      else assert.equal(stored.error, 'access_denied')
    }
  }),

  contract('confirmed: with CONFIRM_PAGE=never, GET /authorize records the confirmation itself, once per flow', async (start) => {
    const relay = await start({ env: { CONFIRM_PAGE: 'never' } })
    const flow = await relay.authorize()
    await assertOnlyConfirmed(relay, flow)
    const second = await relay.fetch(`/authorize?code_challenge=${flow.challenge}&code_challenge_method=S256`)
    await assertErrorPage(second, 409, 'flow_in_progress')
    assert.equal(second.headers.get('Location'), null)
    await assertOnlyConfirmed(relay, flow)
    assert.equal((await relay.callback(flow, { code: VICTIM_CODE, state: flow.state })).status, 200)
    assert.equal(((await relay.raw.get(flow.challenge)) as { code: string }).code, VICTIM_CODE)
  }),
]
