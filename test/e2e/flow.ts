/**
 * @module
 * What a user and an app do in the e2e tests: click through the stand-in's login and consent
 * forms by their labels, pick up tokens with dev/app.ts, check them at the stand-in, and save
 * screenshots of the relay's pages.
 */
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Browser, BrowserContext, Locator, Page, Request, Response } from 'playwright-core'
import { pollForTokens, startLogin } from '../../dev/app.ts'
import type { Login, PollResult } from '../../dev/app.ts'
import type { UnityStandin } from '../../dev/unity-standin.ts'
import { ARTIFACTS_DIR } from './harness.ts'
import type { StandinClient } from './harness.ts'

/** Bound for every single browser step and HTTP call. */
export const STEP_TIMEOUT_MS = 15_000

/** Poll quickly so an outcome is seen within a second of the callback. */
export const POLL = { intervalMs: 250, timeoutMs: 30_000 } as const

/** What the stand-in issues: 30-day opaque access tokens for scope `api`, plus a refresh token. */
export const ACCESS_TOKEN_TTL_SECONDS = 30 * 24 * 3600

/** A fresh browser context (its own cookies) at desktop size, with bounded waits. */
export async function newContext(browser: Browser): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  context.setDefaultTimeout(STEP_TIMEOUT_MS)
  context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS)
  return context
}

/** The relay's per-flow `__Host-` binding cookies in `context`. */
export async function bindingCookies(context: BrowserContext, relayUrl: string) {
  return (await context.cookies(relayUrl)).filter((cookie) => cookie.name.startsWith('__Host-uor-'))
}

/** Heading of the relay's confirmation page. */
export const CONFIRM_HEADING = 'Confirm this sign-in'

/**
 * On the relay's confirmation page: checks that it shows the code the app shows, then presses
 * Continue (which must reach Unity through the CSP's form-action) or Cancel.
 */
export async function confirmOnRelay(page: Page, login: Login, button: 'Continue' | 'Cancel'): Promise<void> {
  await page.getByRole('heading', { name: CONFIRM_HEADING }).waitFor()
  assert.equal((await page.locator('.user-code').innerText()).trim(), login.userCode, 'the page shows the app\u2019s code')
  // The buttons inherit the page font; an invalid declaration would leave the browser's small default.
  const buttonFont = await page.getByRole('button', { name: button }).evaluate((element) => getComputedStyle(element).fontFamily)
  assert.match(buttonFont, /^system-ui\b/, `button font-family: ${buttonFont}`)
  await pressAfterReading(page, page.getByRole('button', { name: button }))
}

/** The intent gate's state on the page (`<html data-gate>`): `waiting`, `ready` or `armed`. */
export function gateState(page: Page): Promise<string | undefined> {
  return page.evaluate(() => document.documentElement.dataset.gate)
}

/**
 * Presses a confirmation page's button the way a person does: after reading the page for a
 * moment (the intent gate's quiet time), the pointer moves onto the button, then clicks once.
 */
export async function pressAfterReading(page: Page, button: Locator): Promise<void> {
  await page.waitForFunction(() => document.documentElement.dataset.gate === 'ready', undefined, { timeout: STEP_TIMEOUT_MS })
  // From wherever the pointer rested (a previous page's click may have left it on this very spot) onto the button.
  await page.mouse.move(1, 1)
  await button.hover()
  assert.equal(await gateState(page), 'armed', 'pointing at the button arms it')
  await button.click()
}

/** Records every request `page` sends to `origin` from now on. */
export function requestsTo(page: Page, origin: string): string[] {
  const seen: string[] = []
  page.on('request', (request) => {
    if (new URL(request.url()).origin === origin) seen.push(request.url())
  })
  return seen
}

/** Signs in on the stand-in's login page and lands on its consent page. */
export async function signIn(page: Page, standin: UnityStandin, username = 'e2e-user'): Promise<void> {
  await page.waitForURL((url) => url.origin === standin.url && url.pathname.startsWith('/interaction/'))
  await page.getByRole('heading', { name: 'Sign in' }).waitFor()
  await page.getByLabel('Username').fill(username)
  await page.getByLabel('Password').fill('any-password')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('heading', { name: 'Authorize access' }).waitFor()
  await page.getByRole('listitem').getByText('api', { exact: true }).waitFor()
}

/**
 * The user's whole sign-in from the app's link: the relay's confirmation page (Continue), the
 * stand-in's login, then Allow or Deny. Returns the relay's `/callback` request and response.
 */
export async function signInFromLink(page: Page, standin: UnityStandin, relayUrl: string, login: Login, consent: 'Allow' | 'Deny' = 'Allow'): Promise<{ request: Request; response: Response }> {
  await page.goto(login.authorizeUrl)
  await confirmOnRelay(page, login, 'Continue')
  await signIn(page, standin)
  return decide(page, relayUrl, consent)
}

/** The relay's `/callback` request, matched by origin and path. */
export const isCallback = (relayUrl: string) => (url: URL) => url.origin === relayUrl && url.pathname === '/callback'

/** Heading of the page {@link holdCallback} shows instead of the relay's. */
export const HELD_HEADING = 'Held by the test'

/** A callback held back from the relay. */
export interface HeldCallback {
  /** The callback URL the browser was about to open; '' until then. */
  readonly url: string
  /** Lets later callbacks through to the relay again. */
  release(): Promise<void>
}

/**
 * Stops `page` from reaching the relay's `/callback` and records the URL instead. The callback is
 * the last hop of Unity's redirect chain, which `page.route` does not see (it only intercepts the
 * first URL of a chain), so this uses the Chrome DevTools Protocol's Fetch domain.
 */
export async function holdCallback(page: Page, relayUrl: string): Promise<HeldCallback> {
  const cdp = await page.context().newCDPSession(page)
  const held = { url: '' }
  cdp.on('Fetch.requestPaused', (event) => {
    held.url ||= event.request.url
    const body = Buffer.from(`<!doctype html><title>${HELD_HEADING}</title><h1>${HELD_HEADING}</h1>`).toString('base64')
    void cdp.send('Fetch.fulfillRequest', { requestId: event.requestId, responseCode: 200, responseHeaders: [{ name: 'Content-Type', value: 'text/html' }], body })
  })
  await cdp.send('Fetch.enable', { patterns: [{ urlPattern: `${relayUrl}/callback?*`, requestStage: 'Request' }] })
  return {
    get url() {
      return held.url
    },
    release: async () => {
      await cdp.send('Fetch.disable')
      await cdp.detach()
    },
  }
}

/**
 * Clicks Allow or Deny on the consent page and returns the relay's `/callback` request and its
 * response, once the page has loaded.
 */
export async function decide(page: Page, relayUrl: string, decision: 'Allow' | 'Deny'): Promise<{ request: Request; response: Response }> {
  const matches = isCallback(relayUrl)
  const callback = page.waitForRequest((request) => matches(new URL(request.url())))
  await page.getByRole('button', { name: decision }).click()
  const request = await callback
  const response = await request.response()
  assert.ok(response, 'the callback got a response')
  await page.waitForLoadState('load')
  return { request, response }
}

/** Parses the callback URL the stand-in redirected to and checks what every callback carries. */
export function callbackParams(request: Request, standin: UnityStandin): URLSearchParams {
  const params = new URL(request.url()).searchParams
  assert.ok(params.get('state'), 'the callback carries the state')
  assert.equal(params.get('iss'), standin.issuer, 'the stand-in sends iss (RFC 9207)')
  return params
}

/** The relay page's `<h1>`. */
export async function heading(page: Page): Promise<string> {
  return (await page.locator('h1').innerText()).trim()
}

/** Asserts the relay's own error page: its heading and the error code it shows. */
export async function assertErrorPage(page: Page, title: string, code: string): Promise<void> {
  assert.equal(await heading(page), title)
  assert.match(await page.locator('main').innerText(), new RegExp(code))
}

/** Asserts that the relay holds no record for this verifier: one pickup answers `authorization_pending`. */
export async function assertNothingStored(relayUrl: string, verifier: string, why: string): Promise<void> {
  const pending = await postToken(relayUrl, { grant_type: 'authorization_code', code_verifier: verifier })
  assert.equal(pending.status, 400)
  assert.equal(pending.body.error, 'authorization_pending', why)
}

/** Asserts that this verifier's tokens were already picked up: the tombstone answers `invalid_grant`. */
export async function assertPickedUp(relayUrl: string, verifier: string, why: string): Promise<void> {
  const spent = await postToken(relayUrl, { grant_type: 'authorization_code', code_verifier: verifier })
  assert.equal(spent.status, 400)
  assert.equal(spent.body.error, 'invalid_grant', why)
  assert.match(String(spent.body.error_description), /already picked up/)
}

/** One POST /token, without retrying. */
export async function postToken(relayUrl: string, form: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(new URL('/token', relayUrl), {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
    signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
  })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

/** Asserts Unity's token JSON as the stand-in issues it, and returns it. */
export function assertTokens(result: PollResult): Record<string, unknown> {
  assert.ok(result.ok, `the app's poll returned tokens, not ${JSON.stringify(result)}`)
  return assertTokenBody(result.tokens)
}

/** Asserts the shape of a token response body. */
export function assertTokenBody(tokens: Record<string, unknown>): Record<string, unknown> {
  assert.equal(typeof tokens.access_token, 'string')
  assert.ok((tokens.access_token as string).length > 20)
  assert.equal(tokens.token_type, 'Bearer')
  assert.equal(tokens.scope, 'api')
  assert.equal(tokens.expires_in, ACCESS_TOKEN_TTL_SECONDS)
  assert.equal(typeof tokens.refresh_token, 'string')
  return tokens
}

/** Polls like the app does, with the e2e bounds. */
export function poll(relayUrl: string, verifier: string): Promise<PollResult> {
  return pollForTokens(relayUrl, verifier, POLL)
}

/** RFC 7662 introspection at the stand-in, authenticated as `client` with its own method. */
export async function introspect(standin: UnityStandin, client: StandinClient, token: string): Promise<Record<string, unknown>> {
  const body = new URLSearchParams({ token })
  const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded' }
  if (client.authMethod === 'client_secret_basic') {
    headers.Authorization = `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`
  } else {
    body.set('client_id', client.clientId)
    body.set('client_secret', client.clientSecret)
  }
  const response = await fetch(`${standin.url}/api/oauth/introspect`, { method: 'POST', headers, body, signal: AbortSignal.timeout(STEP_TIMEOUT_MS) })
  assert.equal(response.status, 200, 'introspection answers 200')
  return (await response.json()) as Record<string, unknown>
}

/** Asserts the stand-in considers `token` a live access token for scope `api`, issued to `client`. */
export async function assertActive(standin: UnityStandin, client: StandinClient, token: string): Promise<void> {
  const info = await introspect(standin, client, token)
  assert.equal(info.active, true, 'the access token is active')
  assert.equal(info.scope, 'api')
  assert.equal(info.client_id, client.clientId)
  assert.equal(info.token_type, 'Bearer')
}

const VIEWPORTS = { desktop: { width: 1280, height: 800 }, mobile: { width: 390, height: 844 } } as const

/**
 * Checks that the relay page's stylesheet applied in full, then saves `<name>-desktop.png` and
 * `<name>-mobile.png` of it under test-results/e2e/, in the page's current colour scheme.
 */
export async function screenshots(page: Page, name: string): Promise<void> {
  // A declaration the browser could not parse is dropped silently; the font one is the canary.
  const font = await page.evaluate(() => getComputedStyle(document.body).fontFamily)
  assert.match(font, /^system-ui\b/, `the page's font declaration was dropped (body font-family: ${font})`)
  // Without a doctype the browser lays the page out in quirks mode.
  assert.equal(await page.evaluate(() => document.compatMode), 'CSS1Compat', 'the page renders in standards mode')
  await mkdir(ARTIFACTS_DIR, { recursive: true })
  const original = page.viewportSize()
  for (const [label, size] of Object.entries(VIEWPORTS)) {
    await page.setViewportSize(size)
    await page.screenshot({ path: join(ARTIFACTS_DIR, `${name}-${label}.png`), fullPage: true })
  }
  if (original) await page.setViewportSize(original)
}

/** Options of {@link happyPath}. */
export interface HappyPathOptions {
  readonly browser: Browser
  readonly standin: UnityStandin
  readonly relayUrl: string
  /** The stand-in client the relay is configured as. */
  readonly client: StandinClient
  /** Save screenshots of the success page under this name. */
  readonly screenshotName?: string
}

/**
 * Scenario 1: the app starts a login and polls; the user signs in and allows; the relay shows
 * its success page; the app's poll returns tokens the stand-in accepts. Returns the tokens.
 */
export async function happyPath({ browser, standin, relayUrl, client, screenshotName }: HappyPathOptions): Promise<Record<string, unknown>> {
  const context = await newContext(browser)
  try {
    const page = await context.newPage()
    const login = await startLogin({ relay: relayUrl })
    const pickup = poll(relayUrl, login.verifier)
    pickup.catch(() => {})

    await page.goto(login.authorizeUrl)
    const [cookie, ...more] = await bindingCookies(context, relayUrl)
    assert.ok(cookie, 'Chromium kept the __Host- binding cookie set over http://127.0.0.1')
    assert.equal(more.length, 0)
    assert.deepEqual({ secure: cookie.secure, httpOnly: cookie.httpOnly, sameSite: cookie.sameSite, path: cookie.path }, { secure: true, httpOnly: true, sameSite: 'Lax', path: '/' })

    await confirmOnRelay(page, login, 'Continue')
    await signIn(page, standin)
    const { request, response } = await decide(page, relayUrl, 'Allow')
    assert.ok(callbackParams(request, standin).get('code'), 'the callback carries a code')
    assert.equal(response.status(), 200)
    assert.equal(await heading(page), 'You are signed in')
    assert.deepEqual(await bindingCookies(context, relayUrl), [], 'the binding cookie is cleared after use')
    if (screenshotName) await screenshots(page, screenshotName)

    const tokens = assertTokens(await pickup)
    await assertActive(standin, client, tokens.access_token as string)
    return tokens
  } finally {
    await context.close()
  }
}
