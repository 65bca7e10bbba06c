/**
 * @module
 * Scenario 8: the stand-in sends `iss` (RFC 9207) but the relay expects another issuer, so the
 * callback is refused and nothing is stored.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Browser } from 'playwright-core'
import { startLogin } from '../../dev/app.ts'
import type { UnityStandin } from '../../dev/unity-standin.ts'
import { assertErrorPage, assertNothingStored, bindingCookies, callbackParams, decide, newContext, screenshots, signIn } from './flow.ts'
import { allStarted, closeAll, launchBrowser, RELAY_PORTS, startRelay, startStandin } from './harness.ts'
import type { RelayProcess } from './harness.ts'

const WRONG_ISSUER = 'https://wrong.example'

let standin: UnityStandin | undefined
let relay: RelayProcess | undefined
let browser: Browser | undefined

before(async () => {
  standin = await startStandin()
  await allStarted([
    startRelay({ port: RELAY_PORTS.wrongIssuer, standin, vars: { UNITY_ISSUER: WRONG_ISSUER } }).then((r) => (relay = r)),
    launchBrowser().then((b) => (browser = b)),
  ])
}, { timeout: 120_000 })

after(() => closeAll(() => browser?.close() ?? Promise.resolve(), relay?.stop, standin?.close))

test('8. the server sends iss and UNITY_ISSUER differs: the callback is refused', { timeout: 60_000 }, async (t) => {
  assert.ok(standin && relay && browser, 'the harness started')
  const context = await newContext(browser)
  t.after(() => context.close())
  const page = await context.newPage()
  const login = await startLogin({ relay: relay.url })
  await page.goto(login.authorizeUrl)
  assert.equal((await bindingCookies(context, relay.url)).length, 1)
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
