/**
 * @module
 * Contract of a Continue that only the user's intent can press (issue #21): a confirmation page
 * reached from another site asks the user to pick the flow's code among decoys, and only that
 * pick continues; "None of these" ends the flow in this browser and tells no app anything. The
 * page says when the flow started and, for a device, where from. The browser half of the defence
 * (the intent gate) is exercised in Chromium by test/e2e/intent.test.ts.
 */
import { strict as assert } from 'node:assert'
import { challengeOf } from '../../dev/pkce.ts'
import { userCodeFor } from '../../src/user-code.ts'
import { assertErrorPage, assertJsonError, contract, cookieAttributes } from './define.ts'
import { RELAY_ORIGIN, TEST_COUNTRY_HEADER, TEST_NETWORK_HEADER } from './harness.ts'
import type { Opened, RelayUnderTest } from './harness.ts'

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' }
const CHOICE = /<button type="submit" name="pick" value="([A-Z]{4}-[A-Z]{4})" aria-label="Code [A-Z -]+">\1<\/button>/g

/** The codes a page offers, in page order. */
function choicesOn(page: string): string[] {
  return [...page.matchAll(CHOICE)].map((match) => match[1] ?? '')
}

/** Asserts a plain page (Continue and the code shown) or a pick page (three codes, the code hidden among them). */
async function assertVariant(opened: Opened, variant: 'plain' | 'pick', what: string): Promise<string[]> {
  const code = await userCodeFor(opened.challenge)
  const choices = choicesOn(opened.page)
  if (variant === 'plain') {
    assert.deepEqual(choices, [], `${what}: no choices`)
    assert.ok(opened.page.includes(`>${code}</div>`), `${what}: the code is shown`)
    assert.match(opened.page, /name="decision" value="continue"/, `${what}: Continue`)
    return choices
  }
  assert.equal(choices.length, 3, `${what}: three choices`)
  assert.equal(new Set(choices).size, 3, `${what}: three different codes`)
  assert.equal(choices.filter((choice) => choice === code).length, 1, `${what}: the flow's code is one of them`)
  assert.equal(opened.page.includes(`class="user-code"`), false, `${what}: the code itself is not shown`)
  assert.doesNotMatch(opened.page, /value="continue"/, `${what}: no Continue to press`)
  assert.match(opened.page, /Another web site sent you here, not (an app on your computer|the code you typed)/, what)
  assert.match(opened.page, /<button type="submit" name="decision" value="cancel" class="secondary">None of these: cancel<\/button>/, what)
  return choices
}

/** Nothing was stored, nothing went to Unity, and the app's poll still waits. */
async function assertNothingHappened(relay: RelayUnderTest, opened: Opened): Promise<void> {
  assert.equal(await relay.raw.get(opened.challenge), null, 'nothing stored')
  assert.equal(relay.unity.calls.length, 0, 'no Unity call')
  await assertJsonError(await relay.pickup(opened.verifier), 400, 'authorization_pending')
}

function assertCookieCleared(response: Response, opened: Opened): void {
  const [cleared] = response.headers.getSetCookie().map(cookieAttributes)
  assert.equal(cleared?.name, opened.cookie.split('=')[0], 'the flow\u2019s cookie is cleared')
  assert.equal(cleared?.attributes.get('max-age'), '0')
}

async function authorizeDevice(relay: RelayUnderTest, headers: Record<string, string> = {}): Promise<{ device_code: string; user_code: string }> {
  const response = await relay.fetch('/device_authorization', { method: 'POST', headers: { ...FORM, ...headers }, body: '' })
  assert.equal(response.status, 200)
  return (await response.json()) as { device_code: string; user_code: string }
}

async function openDevice(relay: RelayUnderTest, device: { device_code: string; user_code: string }, headers: Record<string, string>): Promise<Opened> {
  const response = await relay.fetch(`/device?user_code=${device.user_code}`, { headers })
  const page = await response.text()
  assert.equal(response.status, 200, page)
  const state = /name="state" value="([^"]+)"/.exec(page)?.[1] ?? ''
  const cookie = (response.headers.get('Set-Cookie') ?? '').split(';')[0] ?? ''
  return { verifier: device.device_code, challenge: await challengeOf(device.device_code), state, cookie, response, page }
}

export const intentCases = [
  contract('intent: an app opening the browser (none) or the relay\u2019s own form (same-origin) gets Continue; another site, or a browser that says nothing, gets the pick', async (start) => {
    const relay = await start()
    for (const site of ['none', 'same-origin']) await assertVariant(await relay.open({}, { 'Sec-Fetch-Site': site }), 'plain', site)
    for (const site of ['cross-site', 'same-site', undefined]) await assertVariant(await relay.open({}, { 'Sec-Fetch-Site': site }), 'pick', String(site))
  }),

  contract('intent: a web app on RETURN_TO_ALLOWLIST that links here is trusted by its Referer; any other Referer is not', async (start) => {
    const relay = await start()
    const linked = (referer: string) => relay.open({}, { 'Sec-Fetch-Site': 'cross-site', Referer: referer })
    await assertVariant(await linked('https://app.example.com/login?next=1'), 'plain', 'allowlisted app')
    await assertVariant(await linked('https://desk.example.org:8443/'), 'plain', 'allowlisted app with a port')
    for (const referer of ['https://evil.example/', 'https://app.example.com.evil/', 'http://app.example.com/', 'https://desk.example.org/', 'not a url']) {
      await assertVariant(await linked(referer), 'pick', referer)
    }
  }),

  contract('intent: the choices are drawn afresh for each page, with the flow\u2019s code in a random place', async (start) => {
    const relay = await start()
    const places = new Set<number>()
    const decoys = new Set<string>()
    for (let i = 0; i < 24; i++) {
      const opened = await relay.open({}, { 'Sec-Fetch-Site': 'cross-site' })
      const choices = await assertVariant(opened, 'pick', `page ${i}`)
      const code = await userCodeFor(opened.challenge)
      places.add(choices.indexOf(code))
      for (const choice of choices) if (choice !== code) decoys.add(choice)
    }
    // 24 pages leave each of the 3 places empty with probability (2/3)^24 < 1e-4.
    assert.deepEqual([...places].sort(), [0, 1, 2], 'the flow\u2019s code appears in every place')
    assert.equal(decoys.size, 48, 'no decoy repeats')
  }),

  contract('intent: on a page reached from another site, only the flow\u2019s own code continues, to exactly Unity\u2019s URL', async (start) => {
    const relay = await start()
    const opened = await relay.open({}, { 'Sec-Fetch-Site': 'cross-site' })
    const response = await relay.decide(opened, 'ignored', { pick: await userCodeFor(opened.challenge) })
    assert.equal(response.status, 303, await response.clone().text())
    const url = new URL(response.headers.get('Location') ?? '')
    assert.equal(`${url.origin}${url.pathname}`, 'https://unity.example.com/vu/public/api/oauth/authorize')
    assert.equal(url.searchParams.get('state'), opened.state)
    assert.equal(url.searchParams.get('code_challenge'), opened.challenge)
    assert.equal(url.searchParams.get('redirect_uri'), `${RELAY_ORIGIN}/callback`)
    assert.deepEqual(response.headers.getSetCookie(), [], 'the cookie stays for the callback')
  }),

  contract('intent: a decoy, a made-up code or a plain Continue on such a page ends the flow in this browser and sends nothing to Unity', async (start) => {
    const relay = await start()
    const code = await userCodeFor((await relay.open()).challenge)
    for (const attempt of ['decoy', 'made-up', 'continue'] as const) {
      const opened = await relay.open({}, { 'Sec-Fetch-Site': 'cross-site' })
      const real = await userCodeFor(opened.challenge)
      const decoy = choicesOn(opened.page).find((choice) => choice !== real) ?? ''
      const response = attempt === 'continue'
        ? await relay.decide(opened, 'continue')
        : await relay.decide(opened, 'ignored', { pick: attempt === 'decoy' ? decoy : code === real ? 'BBBB-BBBB' : code })
      await assertErrorPage(response, 400, 'wrong_code')
      assert.equal(response.headers.get('Location'), null, attempt)
      assertCookieCleared(response, opened)
      await assertNothingHappened(relay, opened)
      // The browser has lost the cookie: the right code cannot be tried next.
      await assertErrorPage(await relay.decide(opened, 'ignored', { pick: real, cookie: null }), 400, 'browser_mismatch')
    }
  }),

  contract('intent: "None of these" ends the flow in this browser only: nothing stored, the app keeps waiting', async (start) => {
    const relay = await start()
    const opened = await relay.open({ return_to: 'https://app.example.com/after' }, { 'Sec-Fetch-Site': 'cross-site' })
    const response = await relay.decide(opened, 'cancel')
    const body = await response.text()
    assert.equal(response.status, 200, 'no redirect to a return_to that another site chose')
    assert.match(body, /Sign-in cancelled/)
    assertCookieCleared(response, opened)
    await assertNothingHappened(relay, opened)
  }),

  contract('intent: a pick is refused on a page that showed Continue, and a pick must be one code', async (start) => {
    const relay = await start()
    const opened = await relay.open()
    await assertErrorPage(await relay.decide(opened, 'ignored', { pick: await userCodeFor(opened.challenge) }), 400, 'invalid_request')
    const linked = await relay.open({}, { 'Sec-Fetch-Site': 'cross-site' })
    const post = (body: string) =>
      relay.fetch('/authorize', { method: 'POST', headers: { ...FORM, Origin: RELAY_ORIGIN, 'Sec-Fetch-Site': 'same-origin', Cookie: linked.cookie }, body })
    const state = encodeURIComponent(linked.state)
    const real = await userCodeFor(linked.challenge)
    for (const body of [`state=${state}&pick=${real}&decision=continue`, `state=${state}&pick=${real}&pick=${real}`, `state=${state}&pick=AEIOU`, `state=${state}&pick=`]) {
      await assertErrorPage(await post(body), 400, 'invalid_request')
    }
    assert.equal(await relay.raw.get(linked.challenge), null)
    assert.equal((await post(`state=${state}&pick=${real.toLowerCase().replace('-', ' ')}`)).status, 303, 'case, dashes and spaces do not matter (RFC 8628 §6.1)')
  }),

  contract('intent: a state says whether its page asked for the pick, so a pick page\u2019s state cannot be confirmed as a plain one', async (start) => {
    const relay = await start()
    const linked = await relay.open({}, { 'Sec-Fetch-Site': 'cross-site' })
    const plain = await relay.open({ verifier: linked.verifier })
    assert.notEqual(linked.state.split('.')[2], plain.state.split('.')[2], 'the payloads differ')
    await assertErrorPage(await relay.decide(linked, 'continue'), 400, 'wrong_code')
    assert.equal((await relay.decide(plain, 'continue')).status, 303)
  }),

  contract('intent: the page says when the flow started, in UTC', async (start) => {
    const relay = await start()
    const opened = await relay.open()
    const at = /<p class="when">Started at <time datetime="([^"]+)">(\d\d:\d\d) UTC<\/time>, when this page opened\.<\/p>/.exec(opened.page)
    assert.ok(at, opened.page)
    assert.ok(Math.abs(Date.parse(at[1] ?? '') - Date.now()) < 5000, at[1])
    assert.equal(at[2], (at[1] ?? '').slice(11, 16))
    assert.match(opened.page, /Unity uses the account this browser is signed in to at unity\.example\.com, possibly without asking you again\./)
  }),

  contract('intent: a device page says when and where from the device asked, and warns when this browser is elsewhere', async (start) => {
    const relay = await start()
    const device = await authorizeDevice(relay, { [TEST_COUNTRY_HEADER]: 'DE', [TEST_NETWORK_HEADER]: 'Deutsche Telekom AG' })
    const stored = (await relay.raw.getDevice(device.user_code.replace('-', ''))) as Record<string, unknown>
    assert.deepEqual(stored.from, { country: 'DE', network: 'Deutsche Telekom AG' }, 'a country and a network, never an address')
    relay.advance(180)
    const here = { 'Sec-Fetch-Site': 'same-origin', [TEST_COUNTRY_HEADER]: 'DE', [TEST_NETWORK_HEADER]: 'Deutsche Telekom AG' }
    const same = await openDevice(relay, device, here)
    assert.match(same.page, /The device asked 3 minutes ago \(at <time datetime="[^"]+">\d\d:\d\d UTC<\/time>\), from (Germany|DE), on the network of Deutsche Telekom AG\./)
    assert.doesNotMatch(same.page, /class="alarm"/)

    const abroad = await openDevice(relay, device, { ...here, [TEST_COUNTRY_HEADER]: 'FR' })
    assert.match(abroad.page, /<div class="alarm" role="alert"><p><strong>That device is in (Germany|DE), but this browser is in (France|FR)\.<\/strong>/)
    const elsewhere = await openDevice(relay, device, { ...here, [TEST_NETWORK_HEADER]: 'Vodafone GmbH' })
    assert.match(elsewhere.page, /This browser is on another network \(Vodafone GmbH\)/)
    assert.doesNotMatch(elsewhere.page, /class="alarm"/)
    const unknown = await openDevice(relay, device, { 'Sec-Fetch-Site': 'same-origin' })
    assert.doesNotMatch(unknown.page, /another network|class="alarm"/, 'nothing known of the browser, nothing claimed')
  }),

  contract('intent: a runtime that knows no place says nothing of one, and markup in a network name is text', async (start) => {
    const relay = await start()
    const silent = await authorizeDevice(relay)
    const page = (await openDevice(relay, silent, { 'Sec-Fetch-Site': 'same-origin' })).page
    assert.match(page, /The device asked just now \(at <time datetime="[^"]+">\d\d:\d\d UTC<\/time>\)\.<\/p>/)
    assert.doesNotMatch(page, /on the network of|another network|class="alarm"/)

    const odd = await authorizeDevice(relay, { [TEST_COUNTRY_HEADER]: 'T1', [TEST_NETWORK_HEADER]: `<b>Evil</b> "Net" ${'x'.repeat(200)}` })
    const stored = (await relay.raw.getDevice(odd.user_code.replace('-', ''))) as { from?: { country?: string; network?: string } }
    assert.equal(stored.from?.country, undefined, 'Tor is no country')
    assert.equal(stored.from?.network?.length, 80, 'the network name is bounded')
    const oddPage = (await openDevice(relay, odd, { 'Sec-Fetch-Site': 'same-origin' })).page
    assert.ok(oddPage.includes('on the network of &lt;b&gt;Evil&lt;/b&gt; &quot;Net&quot; x'), 'escaped')
    assert.equal(oddPage.includes('<b>Evil'), false)
  }),

  contract('intent: /device?user_code= opened from another site asks for the pick too', async (start) => {
    const relay = await start()
    const device = await authorizeDevice(relay)
    const linked = await openDevice(relay, device, { 'Sec-Fetch-Site': 'cross-site' })
    await assertVariant(linked, 'pick', 'device, cross-site')
    assert.match(linked.page, /Which code does your device show\?/)
    assert.match(linked.page, /Another web site sent you here, not the code you typed/)
    await assertErrorPage(await relay.decide(linked, 'continue'), 400, 'wrong_code')
    await assertVariant(await openDevice(relay, device, { 'Sec-Fetch-Site': 'none' }), 'plain', 'device link opened from outside the browser')
  }),
]
