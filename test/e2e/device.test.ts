/**
 * @module
 * The device authorization grant end to end: openid-client, a standard OAuth library, discovers the
 * relay (RFC 8414), starts a device authorization and polls (RFC 8628), while Chromium plays the
 * user who types the code, confirms and signs in at the Unity stand-in.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as client from 'openid-client'
import type { Page } from 'playwright-core'
import { deviceLogin } from '../../dev/device-login.ts'
import { assertActive, assertTokenBody, CONFIRM_HEADING, decide, heading, newContext, pressAfterReading, requestsTo, screenshots, signIn } from './flow.ts'
import { BASIC_CLIENT, RELAY_PORTS, useScenario } from './harness.ts'

const TEST = { timeout: 60_000 } as const

const setup = useScenario(RELAY_PORTS.device)

/** What the library printed for the user. */
interface UserPrompt {
  readonly verificationUri: string
  readonly verificationUriComplete: string | undefined
  readonly userCode: string
}

/** Starts the library's device login; resolves the prompt as soon as the library has it. */
function startDevice(relayUrl: string, signal?: AbortSignal) {
  let shown: (prompt: UserPrompt) => void = () => {}
  const prompt = new Promise<UserPrompt>((resolve) => (shown = resolve))
  const tokens = deviceLogin({ relay: relayUrl, onUserCode: (p) => shown(p), ...(signal ? { signal } : {}) })
  tokens.catch(() => {})
  return { prompt, tokens }
}

/** The library's token response; openid-client lowercases `token_type`, which is case-insensitive (RFC 6749 §5.1). */
function libraryTokens(tokens: Record<string, unknown>): Record<string, unknown> {
  assert.equal(String(tokens.token_type).toLowerCase(), 'bearer')
  return assertTokenBody({ ...tokens, token_type: 'Bearer' })
}

/** On the relay's confirmation page for a device: checks the code, then presses a button. */
async function confirmDevice(page: Page, userCode: string, button: 'Continue' | 'Cancel'): Promise<void> {
  await page.getByRole('heading', { name: CONFIRM_HEADING }).waitFor()
  assert.equal((await page.locator('.user-code').innerText()).trim(), userCode)
  assert.match(await page.locator('main').innerText(), /A device asked to sign you in/)
  await pressAfterReading(page, page.getByRole('button', { name: button }))
}

test('1. verification_uri: the user types the code in lower case with a dash, confirms and signs in; the library gets tokens', TEST, async (t) => {
  const { standin, relay, browser } = setup()
  const context = await newContext(browser)
  t.after(() => context.close())
  const page = await context.newPage()
  const { prompt, tokens } = startDevice(relay.url)
  const { verificationUri, userCode } = await prompt
  assert.equal(verificationUri, `${relay.url}/device`)

  await page.goto(verificationUri)
  const field = page.getByLabel('Code')
  assert.equal(await field.evaluate((element) => element === document.activeElement), true, 'the field has focus')
  await screenshots(page, 'device-entry')
  await field.fill(userCode.toLowerCase())
  await page.getByRole('button', { name: 'Next' }).click()
  await confirmDevice(page, userCode, 'Continue')
  await signIn(page, standin)
  await decide(page, relay.url, 'Allow')
  assert.equal(await heading(page), 'You are signed in')
  assert.match(await page.locator('main').innerText(), /Return to your device/)
  await screenshots(page, 'device-done')

  const body = libraryTokens({ ...(await tokens) })
  await assertActive(standin, BASIC_CLIENT, body.access_token as string)
})

test('2. verification_uri_complete: the code arrives in the link and the user only confirms', TEST, async (t) => {
  const { standin, relay, browser } = setup()
  const context = await newContext(browser)
  t.after(() => context.close())
  const page = await context.newPage()
  const { prompt, tokens } = startDevice(relay.url)
  const { verificationUriComplete, userCode } = await prompt
  assert.ok(verificationUriComplete)
  await page.goto(verificationUriComplete)
  await confirmDevice(page, userCode, 'Continue')
  await signIn(page, standin)
  await decide(page, relay.url, 'Allow')
  const body = libraryTokens({ ...(await tokens) })
  await assertActive(standin, BASIC_CLIENT, body.access_token as string)
})

test('3. the user presses Cancel: the library reports access_denied and nothing reaches Unity', TEST, async (t) => {
  const { standin, relay, browser } = setup()
  const context = await newContext(browser)
  t.after(() => context.close())
  const page = await context.newPage()
  const toUnity = requestsTo(page, standin.url)
  const { prompt, tokens } = startDevice(relay.url)
  const { verificationUriComplete, userCode } = await prompt
  await page.goto(verificationUriComplete ?? '')
  await confirmDevice(page, userCode, 'Cancel')
  await page.getByRole('heading', { name: 'Sign-in cancelled' }).waitFor()
  await assert.rejects(tokens, (error: { error?: string }) => error.error === 'access_denied')
  assert.deepEqual(toUnity, [])
})

test('4. a wrong code is refused with a plain message, and the device keeps waiting', TEST, async (t) => {
  const { standin, relay, browser } = setup()
  const context = await newContext(browser)
  t.after(() => context.close())
  const page = await context.newPage()
  const toUnity = requestsTo(page, standin.url)
  const stop = new AbortController()
  t.after(() => stop.abort())
  const { prompt, tokens } = startDevice(relay.url, stop.signal)
  const { verificationUri, userCode } = await prompt
  const wrong = [...userCode].map((char) => (char === '-' ? '-' : char === 'B' ? 'C' : 'B')).join('')
  await page.goto(verificationUri)
  await page.getByLabel('Code').fill(wrong)
  await page.getByRole('button', { name: 'Next' }).click()
  await page.getByRole('alert').waitFor()
  assert.match(await page.getByRole('alert').innerText(), /not valid, or it has expired/)
  assert.equal(await page.getByLabel('Code').evaluate((element) => element === document.activeElement), true, 'the field has focus again')
  await screenshots(page, 'device-wrong-code')
  stop.abort()
  await assert.rejects(tokens)
  assert.deepEqual(toUnity, [])
})

test('5. a stolen DPoP-bound refresh token is useless to a thief, with no key or their own, while the device refreshes with its key, until its logout revokes the grant', TEST, async (t) => {
  const { standin, relay, browser } = setup()
  const context = await newContext(browser)
  t.after(() => context.close())
  const page = await context.newPage()
  // The device: openid-client, unchanged, with its own DPoP key (RFC 9449).
  const config = await client.discovery(new URL(relay.url), 'e2e-device', undefined, client.None(), { algorithm: 'oauth2', execute: [client.allowInsecureRequests] })
  assert.ok(config.serverMetadata().dpop_signing_alg_values_supported?.includes('ES256'), 'the metadata advertises DPoP')
  const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'))
  const device = await client.initiateDeviceAuthorization(config, { scope: 'api' })
  const polled = client.pollDeviceAuthorizationGrant(config, device, undefined, { DPoP })
  polled.catch(() => {})
  await page.goto(device.verification_uri_complete ?? '')
  await confirmDevice(page, device.user_code, 'Continue')
  await signIn(page, standin)
  await decide(page, relay.url, 'Allow')
  const tokens = await polled
  const stolen = tokens.refresh_token
  assert.ok(stolen, 'the device holds a sealed refresh token')

  // The thief copied it off the device, but not the device's key.
  const bare = await fetch(new URL('/token', relay.url), { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: stolen }) })
  assert.equal(bare.status, 400)
  assert.equal(((await bare.json()) as { error: string }).error, 'invalid_grant', 'without a proof')
  const thief = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'))
  await assert.rejects(client.refreshTokenGrant(config, stolen, undefined, { DPoP: thief }), (error: { error?: string }) => error.error === 'invalid_grant', 'with a proof of another key')

  const refreshed = await client.refreshTokenGrant(config, stolen, undefined, { DPoP })
  const body = libraryTokens({ ...refreshed })
  await assertActive(standin, BASIC_CLIENT, body.access_token as string)

  // Logout: the library revokes the newest token at the relay's revocation_endpoint (RFC 7009); no generation refreshes again.
  assert.equal(config.serverMetadata().revocation_endpoint, `${relay.url}/revoke`)
  await client.tokenRevocation(config, refreshed.refresh_token ?? '', { token_type_hint: 'refresh_token' })
  await assert.rejects(client.refreshTokenGrant(config, refreshed.refresh_token ?? '', undefined, { DPoP }), (error: { error?: string }) => error.error === 'invalid_grant', 'after the logout')
})
