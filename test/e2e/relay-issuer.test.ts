/**
 * @module
 * Scenario 8: the stand-in sends `iss` (RFC 9207) but the relay expects another issuer, so the
 * callback is refused and nothing is stored.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startLogin } from '../../dev/app.ts'
import { assertErrorPage, assertNothingStored, bindingCookies, callbackParams, confirmOnRelay, decide, newContext, screenshots, signIn } from './flow.ts'
import { RELAY_PORTS, useScenario } from './harness.ts'

const WRONG_ISSUER = 'https://wrong.example'

const scenario = useScenario(RELAY_PORTS.wrongIssuer, { UNITY_ISSUER: WRONG_ISSUER })

test('8. the server sends iss and UNITY_ISSUER differs: the callback is refused', { timeout: 60_000 }, async (t) => {
  const { standin, relay, browser } = scenario()
  const context = await newContext(browser)
  t.after(() => context.close())
  const page = await context.newPage()
  const login = await startLogin({ relay: relay.url })
  await page.goto(login.authorizeUrl)
  assert.equal((await bindingCookies(context, relay.url)).length, 1)
  await confirmOnRelay(page, login, 'Continue')
  await signIn(page, standin)

  const { request, response } = await decide(page, relay.url, 'Allow')
  const params = callbackParams(request, standin)
  assert.notEqual(params.get('iss'), WRONG_ISSUER)
  assert.ok(params.get('code'), 'Unity did issue a code')
  assert.equal(response.status(), 400)
  await assertErrorPage(page, 'The sign-in response came from the wrong server', 'issuer_mismatch')
  await screenshots(page, 'error-issuer-mismatch')
  await assertNothingStored(relay.url, login.verifier, 'the refused code was not stored')
})
