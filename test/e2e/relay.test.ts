/**
 * @module
 * End-to-end scenarios against one relay configured as dev/dev.vars has it (client_secret_basic):
 * `wrangler dev` + the oidc-provider stand-in + Debian's Chromium + dev/app.ts as the app.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startLogin } from '../../dev/app.ts'
import {
  assertActive,
  assertErrorPage,
  assertNothingStored,
  assertPickedUp,
  assertTokenBody,
  assertTokens,
  bindingCookies,
  callbackParams,
  CONFIRM_HEADING,
  confirmOnRelay,
  decide,
  happyPath,
  HELD_HEADING,
  heading,
  holdCallback,
  newContext,
  poll,
  postToken,
  requestsTo,
  screenshots,
  signIn,
  signInFromLink,
} from './flow.ts'
import { BASIC_CLIENT, closeAll, delay, RELAY_PORTS, startAppPage, startAttackerSite, useScenario } from './harness.ts'

const TEST = { timeout: 60_000 } as const

const setup = useScenario(RELAY_PORTS.basic)

test('1. happy path, client_secret_basic: login, consent, success page, token pickup, introspection', TEST, async () => {
  const { standin, relay, browser } = setup()
  await happyPath({ browser, standin, relayUrl: relay.url, client: BASIC_CLIENT, screenshotName: 'success' })
})

test('2. the user denies consent: the page says so and the poll gets access_denied promptly', TEST, async () => {
  const { standin, relay, browser } = setup()
  const context = await newContext(browser)
  try {
    const page = await context.newPage()
    const login = await startLogin({ relay: relay.url })
    const pickup = poll(relay.url, login.verifier).then((result) => ({ result, at: Date.now() }))
    pickup.catch(() => {})
    await page.goto(login.authorizeUrl)
    await confirmOnRelay(page, login, 'Continue')
    await signIn(page, standin)

    const clickedAt = Date.now()
    const { request, response } = await decide(page, relay.url, 'Deny')
    const params = callbackParams(request, standin)
    assert.equal(params.get('error'), 'access_denied')
    assert.equal(params.get('code'), null)
    assert.equal(response.status(), 200)
    assert.equal(await heading(page), 'Sign-in was cancelled')
    assert.match(await page.locator('main').innerText(), /You did not allow access, so the app was not signed in\./)
    await screenshots(page, 'denied')

    const { result, at } = await pickup
    assert.ok(!result.ok)
    const { waitedMs: _waited, ...answer } = result
    // Unity's Deny, told apart from a Cancel on the relay's page.
    assert.deepEqual(answer, { ok: false, status: 400, error: 'access_denied', description: 'The sign-in was refused at Unity (access_denied): the user denied access there, or Unity did not allow it. Start a new sign-in.', timedOut: false })
    assert.ok(at - clickedAt < 5_000, `the poll ended ${at - clickedAt} ms after Deny, not at its timeout`)
  } finally {
    await context.close()
  }
})

test('3. return_to an allowlisted origin ends the flow there, with no code or token in the URL', TEST, async (t) => {
  const { standin, relay, browser } = setup()
  const app = await startAppPage()
  t.after(() => app.close())
  const context = await newContext(browser)
  t.after(() => context.close())
  const page = await context.newPage()
  const returnTo = `${app.origin}/signed-in?session=e2e`
  const login = await startLogin({ relay: relay.url, returnTo })
  const pickup = poll(relay.url, login.verifier)
  pickup.catch(() => {})
  await page.goto(login.authorizeUrl)
  await confirmOnRelay(page, login, 'Continue')
  await signIn(page, standin)

  const { request, response } = await decide(page, relay.url, 'Allow')
  assert.ok(callbackParams(request, standin).get('code'))
  assert.equal(response.status(), 303)
  assert.equal(response.headers().location, returnTo)
  assert.equal(page.url(), returnTo)
  assert.equal(await heading(page), 'Back in the app')
  const landed = new URL(page.url())
  for (const leak of ['code', 'state', 'iss', 'token', 'access_token', 'refresh_token']) {
    assert.equal(landed.searchParams.has(leak), false, `no ${leak} in the return_to URL`)
  }
  assert.equal(landed.hash, '')
  const landing = app.requests.filter((received) => received.url !== '/favicon.ico')
  assert.equal(landing.length, 1)
  assert.equal(landing[0]?.url, '/signed-in?session=e2e')
  assert.equal(landing[0]?.headers.referer, undefined, 'the callback URL does not leak through Referer')

  const tokens = assertTokens(await pickup)
  await assertActive(standin, BASIC_CLIENT, tokens.access_token as string)
})

test('4. two logins in two tabs of one browser both succeed', TEST, async (t) => {
  const { standin, relay, browser } = setup()
  const context = await newContext(browser)
  t.after(() => context.close())
  const tabs = await Promise.all([context.newPage(), context.newPage()])
  const logins = await Promise.all(tabs.map(() => startLogin({ relay: relay.url })))
  const pickups = logins.map((login) => poll(relay.url, login.verifier))
  for (const pickup of pickups) pickup.catch(() => {})

  // Both flows are started before either finishes, so both binding cookies live side by side.
  await tabs[0]!.goto(logins[0]!.authorizeUrl)
  await tabs[1]!.goto(logins[1]!.authorizeUrl)
  assert.equal((await bindingCookies(context, relay.url)).length, 2)
  for (const [i, tab] of tabs.entries()) await confirmOnRelay(tab, logins[i]!, 'Continue')
  // One browser holds one Unity session, so it is the same user in both tabs.
  for (const tab of tabs) await signIn(tab, standin)
  for (const tab of tabs) {
    const { response } = await decide(tab, relay.url, 'Allow')
    assert.equal(response.status(), 200)
    assert.equal(await heading(tab), 'You are signed in')
  }
  assert.deepEqual(await bindingCookies(context, relay.url), [])

  const [first, second] = (await Promise.all(pickups)).map(assertTokens)
  assert.notEqual(first!.access_token, second!.access_token)
  for (const tokens of [first!, second!]) await assertActive(standin, BASIC_CLIENT, tokens.access_token as string)
})

test('5. a callback URL opened in another browser is refused and nothing is stored', TEST, async (t) => {
  const { standin, relay, browser } = setup()
  const [starter, other] = await Promise.all([newContext(browser), newContext(browser)])
  t.after(() => closeAll(() => starter.close(), () => other.close()))
  const page = await starter.newPage()
  const login = await startLogin({ relay: relay.url })

  // Hold the callback in the starting browser, so the relay sees it first from the other one.
  const held = await holdCallback(page, relay.url)
  await page.goto(login.authorizeUrl)
  await confirmOnRelay(page, login, 'Continue')
  await signIn(page, standin)
  await page.getByRole('button', { name: 'Allow' }).click()
  await page.getByRole('heading', { name: HELD_HEADING }).waitFor()
  assert.ok(held.url, 'the callback URL was captured')
  assert.ok(new URL(held.url).searchParams.get('code'))
  assert.equal((await bindingCookies(starter, relay.url)).length, 1, 'the relay has not seen this callback yet')

  const intruder = await other.newPage()
  assert.deepEqual(await bindingCookies(other, relay.url), [])
  const refused = await intruder.goto(held.url)
  assert.ok(refused)
  assert.equal(refused.url(), held.url, 'the relay answered the callback itself')
  assert.equal(refused.status(), 400)
  await assertErrorPage(intruder, 'This sign-in cannot be finished here', 'browser_mismatch')
  await screenshots(intruder, 'error-browser-mismatch')
  await assertNothingStored(relay.url, login.verifier, 'the refused callback stored nothing')

  // The same URL in the browser that started the flow is accepted: only the binding was missing.
  await held.release()
  const accepted = await page.goto(held.url)
  assert.equal(accepted?.status(), 200)
  assert.equal(await heading(page), 'You are signed in')
  const tokens = assertTokens(await poll(relay.url, login.verifier))
  await assertActive(standin, BASIC_CLIENT, tokens.access_token as string)
})

test('6. a finished callback URL opened again is refused and the token pickup is unaffected', TEST, async (t) => {
  const { standin, relay, browser } = setup()
  const context = await newContext(browser)
  t.after(() => context.close())
  const page = await context.newPage()
  const login = await startLogin({ relay: relay.url })
  const { request, response } = await signInFromLink(page, standin, relay.url, login)
  assert.equal(response.status(), 200)
  const callbackUrl = request.url()

  const beforePickup = await page.goto(callbackUrl)
  assert.equal(beforePickup?.status(), 400, 'a replay before the pickup is refused')
  assert.notEqual(await heading(page), 'You are signed in')
  const tokens = assertTokens(await poll(relay.url, login.verifier))

  const fresh = await newContext(browser)
  t.after(() => fresh.close())
  const elsewhere = await fresh.newPage()
  const afterPickup = await elsewhere.goto(callbackUrl)
  assert.equal(afterPickup?.status(), 400, 'a replay after the pickup is refused')

  await assertPickedUp(relay.url, login.verifier, 'the replays stored nothing over the spent record')
  // Had the relay sent the spent code to Unity again, oidc-provider would have revoked these tokens.
  await assertActive(standin, BASIC_CLIENT, tokens.access_token as string)
})

test('7. a refresh through /token returns new tokens', TEST, async () => {
  const { standin, relay, browser } = setup()
  const tokens = await happyPath({ browser, standin, relayUrl: relay.url, client: BASIC_CLIENT })

  const refreshed = await postToken(relay.url, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string })
  assert.equal(refreshed.status, 200)
  assertTokenBody(refreshed.body)
  assert.notEqual(refreshed.body.access_token, tokens.access_token)
  assert.notEqual(refreshed.body.refresh_token, tokens.refresh_token, 'the stand-in rotates refresh tokens')
  await assertActive(standin, BASIC_CLIENT, refreshed.body.access_token as string)

  const reused = await postToken(relay.url, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string })
  assert.equal(reused.status, 400)
  assert.equal(reused.body.error, 'invalid_grant', 'the rotated-out refresh token is refused')
})

test('9. the user presses Cancel on the confirmation page: nothing reaches Unity and the app gets access_denied', TEST, async (t) => {
  const { standin, relay, browser } = setup()
  const context = await newContext(browser)
  t.after(() => context.close())
  const page = await context.newPage()
  const toUnity = requestsTo(page, standin.url)
  const login = await startLogin({ relay: relay.url })
  const pickup = poll(relay.url, login.verifier)
  pickup.catch(() => {})
  await page.goto(login.authorizeUrl)
  await page.getByRole('heading', { name: CONFIRM_HEADING }).waitFor()
  // As the user sees it once the intent gate is ready (its buttons are dimmed for the first second).
  await page.waitForFunction(() => document.documentElement.dataset.gate === 'ready')
  await screenshots(page, 'confirm')
  await page.emulateMedia({ colorScheme: 'dark' })
  await screenshots(page, 'confirm-dark')
  await page.emulateMedia({ colorScheme: 'light' })

  await confirmOnRelay(page, login, 'Cancel')
  await page.getByRole('heading', { name: 'Sign-in cancelled' }).waitFor()
  assert.equal(new URL(page.url()).pathname, '/authorize')
  await screenshots(page, 'cancelled')
  assert.deepEqual(await bindingCookies(context, relay.url), [], 'the binding cookie is cleared')
  const result = await pickup
  assert.equal(result.ok ? 'tokens' : result.error, 'access_denied')
  assert.deepEqual(toUnity, [], 'the browser never went to Unity')
})

test('10. drive-by: a page on another origin cannot sign a returning user in without a click', TEST, async (t) => {
  const { standin, relay, browser } = setup()
  const victim = await newContext(browser)
  t.after(() => victim.close())
  const page = await victim.newPage()

  // The victim signed in before, so Unity (the stand-in) now skips its login and consent pages.
  const earlier = await startLogin({ relay: relay.url })
  await signInFromLink(page, standin, relay.url, earlier)
  assertTokens(await poll(relay.url, earlier.verifier))
  const again = await startLogin({ relay: relay.url })
  await page.goto(again.authorizeUrl)
  await confirmOnRelay(page, again, 'Continue')
  await page.getByRole('heading', { name: 'You are signed in' }).waitFor()
  assertTokens(await poll(relay.url, again.verifier))

  // The attacker makes a verifier, gets a genuine state for it in their own browser, and serves a page.
  const attacker = await startLogin({ relay: relay.url })
  const own = await fetch(attacker.authorizeUrl, { redirect: 'manual' })
  const ownState = /name="state" value="([^"]+)"/.exec(await own.text())?.[1] ?? ''
  assert.ok(ownState, 'the attacker has a signed state of their own')
  const site = await startAttackerSite({
    '/navigate': `<script>location.href = ${JSON.stringify(attacker.authorizeUrl)}</script>`,
    '/post': `<form id="f" method="post" action="${relay.url}/authorize"><input name="state" value="${ownState}"><input name="decision" value="continue"></form><script>document.getElementById('f').submit()</script>`,
  })
  t.after(() => site.close())
  const toUnity = requestsTo(page, standin.url)

  await page.goto(`${site.origin}/navigate`)
  await page.getByRole('heading', { name: CONFIRM_HEADING }).waitFor()
  await delay(1_000)
  assert.equal(new URL(page.url()).origin, relay.url, 'the browser stopped at the relay')
  assert.equal(await heading(page), CONFIRM_HEADING)
  // Another site sent the browser here: the page asks for the code instead of showing it with a Continue.
  assert.equal(await page.getByRole('button', { name: 'Continue' }).count(), 0)
  assert.ok((await page.locator('.choices button').allInnerTexts()).map((text) => text.trim()).includes(attacker.userCode))

  const posted = page.waitForResponse((response) => response.url() === `${relay.url}/authorize` && response.request().method() === 'POST')
  await page.goto(`${site.origin}/post`)
  const refused = await posted
  assert.equal(refused.status(), 403, 'a decision posted by another origin is refused')
  await page.getByRole('heading', { name: 'This confirmation did not come from the relay’s page' }).waitFor()

  assert.deepEqual(toUnity, [], 'nothing reached Unity')
  const stolen = await postToken(relay.url, { grant_type: 'authorization_code', code_verifier: attacker.verifier })
  assert.equal(stolen.status, 400)
  assert.equal(stolen.body.error, 'authorization_pending', 'the attacker gets nothing')
})
