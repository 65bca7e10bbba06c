/**
 * @module
 * The standard authorization code flow end to end (RFC 6749 §4.1, RFC 8252): openid-client as a
 * native app, with a real loopback HTTP server for its redirect URI, PKCE and no client secret,
 * while Chromium plays the user on the relay's page and at the Unity stand-in. The stand-in's
 * registered redirect URIs are the relay's callbacks: the app's loopback URI is the relay's
 * business only.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import { loopbackLogin } from '../../dev/loopback-login.ts'
import type { LoopbackLogin } from '../../dev/loopback-login.ts'
import { assertActive, assertTokenBody, CONFIRM_HEADING, decide, heading, newContext, pressAfterReading, requestsTo, screenshots, signIn } from './flow.ts'
import { BASIC_CLIENT, RELAY_PORTS, useScenario } from './harness.ts'

const TEST = { timeout: 60_000 } as const

const setup = useScenario(RELAY_PORTS.basic)

/** Starts the app's sign-in; resolves the URL for the browser as soon as the library has built it. */
function startApp(relayUrl: string, signal?: AbortSignal) {
  let opened: (value: { url: string; redirectUri: string }) => void = () => {}
  const authorize = new Promise<{ url: string; redirectUri: string }>((resolve) => (opened = resolve))
  const login: Promise<LoopbackLogin> = loopbackLogin({ relay: relayUrl, clientId: 'e2e-native-app', onAuthorizeUrl: (url, redirectUri) => opened({ url, redirectUri }), ...(signal ? { signal } : {}) })
  login.catch(() => {})
  return { authorize, login }
}

/** On the relay's page for a standard flow: no code to compare, the app's name and its port; then a press. */
async function confirmStandard(page: Page, redirectUri: string, button: 'Continue' | 'Cancel'): Promise<void> {
  await page.getByRole('heading', { name: CONFIRM_HEADING }).waitFor()
  const text = await page.locator('main').innerText()
  assert.match(text, /An app that calls itself e2e-native-app asked to sign you in/)
  assert.match(text, new RegExp(`returns to an app on this computer \\(port ${new URL(redirectUri).port}\\)`))
  assert.equal(await page.locator('.user-code').count(), 0, 'no code to compare')
  await pressAfterReading(page, page.getByRole('button', { name: button }))
}

/** openid-client lowercases `token_type`, which is case-insensitive (RFC 6749 §5.1). */
function libraryTokens(tokens: Record<string, unknown>): Record<string, unknown> {
  assert.equal(String(tokens.token_type).toLowerCase(), 'bearer')
  return assertTokenBody({ ...tokens, token_type: 'Bearer' })
}

test('1. openid-client with a loopback redirect: the user confirms and signs in, the app gets tokens with no secret, then refreshes', TEST, async (t) => {
  const { standin, relay, browser } = setup()
  const context = await newContext(browser)
  t.after(() => context.close())
  const page = await context.newPage()
  const { authorize, login } = startApp(relay.url)
  const { url, redirectUri } = await authorize
  assert.ok(url.startsWith(`${relay.url}/authorize?`), 'the authorization_endpoint from the relay’s metadata')
  assert.match(redirectUri, /^http:\/\/127\.0\.0\.1:\d+\/callback$/)

  await page.goto(url)
  await screenshots(page, 'standard-confirm')
  await confirmStandard(page, redirectUri, 'Continue')
  await signIn(page, standin)
  const { response } = await decide(page, relay.url, 'Allow')
  // The relay's callback sends the browser on to the app's own listener, with the relay's code.
  assert.equal(response.status(), 303)
  const landing = new URL(response.headers().location ?? '')
  assert.equal(`${landing.origin}${landing.pathname}`, redirectUri)
  assert.deepEqual([...landing.searchParams.keys()], ['code', 'state', 'iss'])
  assert.equal(landing.searchParams.get('iss'), relay.url)
  assert.equal(await heading(page), 'Signed in', 'the app’s own page')

  const { tokens, refreshed } = await login
  const body = libraryTokens({ ...tokens })
  await assertActive(standin, BASIC_CLIENT, body.access_token as string)
  assert.ok(refreshed, 'the app refreshed')
  const again = libraryTokens({ ...refreshed })
  await assertActive(standin, BASIC_CLIENT, again.access_token as string)
})

test('2. Cancel on the relay’s page: the app’s listener gets access_denied with its state and the relay’s iss, and nothing reaches Unity', TEST, async (t) => {
  const { standin, relay, browser } = setup()
  const context = await newContext(browser)
  t.after(() => context.close())
  const page = await context.newPage()
  const toUnity = requestsTo(page, standin.url)
  const { authorize, login } = startApp(relay.url)
  const { url, redirectUri } = await authorize
  await page.goto(url)
  // The 303 from the form's POST to the app is allowed by the page's CSP form-action.
  const landed = page.waitForRequest((request) => request.url().startsWith(`${redirectUri}?`))
  await confirmStandard(page, redirectUri, 'Cancel')
  const params = new URL((await landed).url()).searchParams
  assert.equal(params.get('error'), 'access_denied')
  assert.equal(params.get('iss'), relay.url)
  assert.equal(params.get('state'), new URL(url).searchParams.get('state'))
  await assert.rejects(login, (error: { error?: string }) => error.error === 'access_denied')
  assert.deepEqual(toUnity, [])
})

test('3. Deny at Unity: the app learns access_denied at its redirect URI', TEST, async (t) => {
  const { standin, relay, browser } = setup()
  const context = await newContext(browser)
  t.after(() => context.close())
  const page = await context.newPage()
  const { authorize, login } = startApp(relay.url)
  const { url, redirectUri } = await authorize
  await page.goto(url)
  await confirmStandard(page, redirectUri, 'Continue')
  await signIn(page, standin)
  await decide(page, relay.url, 'Deny')
  await assert.rejects(login, (error: { error?: string }) => error.error === 'access_denied')
})
