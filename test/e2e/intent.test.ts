/**
 * @module
 * Double-click-jacking against the confirmation page, played in Chromium (issue #21). The victim
 * is a returning user, whom the stand-in signs in with no login or consent page, so one press on
 * the relay's page would hand their tokens to whoever holds the flow's verifier. An attacker's
 * page on another origin puts a "Start" button where the relay's buttons render and swaps the
 * relay's page in on the first press; the presses that follow (a double click at 40, 150 or
 * 400 ms, 20 fast clicks, a held Enter) must confirm nothing. A person who reads the page and
 * then clicks once still signs in, with the mouse or the keyboard.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { BrowserContext, Page } from 'playwright-core'
import { startLogin } from '../../dev/app.ts'
import type { Login } from '../../dev/app.ts'
import {
  assertTokens,
  CONFIRM_HEADING,
  gateState,
  heading,
  newContext,
  poll,
  postToken,
  pressAfterReading,
  requestsTo,
  screenshots,
  signInFromLink,
} from './flow.ts'
import { delay, RELAY_PORTS, startAttackerSite, useScenario } from './harness.ts'
import type { Scenario } from './harness.ts'

const TEST = { timeout: 90_000 } as const

// The files run one at a time (--test-concurrency=1), so this one may use relay.test.ts's port.
const setup = useScenario(RELAY_PORTS.basic)

/** Where the relay's confirmation buttons render at 1280×800: the attacker measures it on their own copy of the page. */
interface Target {
  readonly x: number
  readonly y: number
}

/** A browser context whose user signed in once, so the stand-in no longer asks them anything. */
async function returningUser({ standin, relay, browser }: Scenario): Promise<{ context: BrowserContext; page: Page }> {
  const context = await newContext(browser)
  const page = await context.newPage()
  const earlier = await startLogin({ relay: relay.url })
  await signInFromLink(page, standin, relay.url, earlier)
  assertTokens(await poll(relay.url, earlier.verifier))
  return { context, page }
}

/** The centre of the first choice on a confirmation page reached from another site, as the attacker sees their own copy. */
async function measureTarget(scenario: Scenario, url: string): Promise<Target> {
  const context = await newContext(scenario.browser)
  try {
    const page = await context.newPage()
    const site = await startAttackerSite({ '/': `<script>location.href = ${JSON.stringify(url)}</script>` })
    try {
      await page.goto(`${site.origin}/`)
      await page.getByRole('heading', { name: CONFIRM_HEADING }).waitFor()
      const box = await page.locator('.choices button').first().boundingBox()
      assert.ok(box, 'the attacker can measure the layout')
      return { x: box.x + box.width / 2, y: box.y + box.height / 2 }
    } finally {
      await site.close()
    }
  } finally {
    await context.close()
  }
}

/** The attacker's page: a "Start" button exactly over `target` that sends the top window to the relay on the first press. */
function lurePage(url: string, target: Target): string {
  const go = `location.href = ${JSON.stringify(url)}`
  return `<style>button { position: absolute; left: ${target.x - 100}px; top: ${target.y - 25}px; width: 200px; height: 50px; }</style>\
<button id="start" autofocus>Start</button>\
<script>const start = document.getElementById('start'); start.addEventListener('mousedown', () => { ${go} }); start.addEventListener('keydown', () => { ${go} })</script>`
}

/** After the presses: the browser is still on the relay's page, nothing reached Unity, and the attacker's poll waits. */
async function assertNothingConfirmed(page: Page, relayUrl: string, toUnity: readonly string[], attacker: Login, what: string): Promise<void> {
  await delay(1_500)
  assert.equal(new URL(page.url()).origin, relayUrl, `${what}: the browser stayed at the relay`)
  assert.equal(await heading(page), CONFIRM_HEADING, `${what}: still the confirmation page`)
  assert.notEqual(await gateState(page), 'armed', `${what}: the gate was not armed`)
  assert.deepEqual(toUnity, [], `${what}: nothing reached Unity`)
  const stolen = await postToken(relayUrl, { grant_type: 'authorization_code', code_verifier: attacker.verifier })
  assert.equal(stolen.body.error, 'authorization_pending', `${what}: the attacker gets nothing`)
}

test('1. a double click at 40, 150 and 400 ms from a lure on another origin confirms nothing', TEST, async (t) => {
  const scenario = setup()
  const { context, page } = await returningUser(scenario)
  t.after(() => context.close())
  for (const gapMs of [40, 150, 400]) {
    const attacker = await startLogin({ relay: scenario.relay.url })
    const target = await measureTarget(scenario, attacker.authorizeUrl)
    const site = await startAttackerSite({ '/': lurePage(attacker.authorizeUrl, target) })
    try {
      await page.goto(`${site.origin}/`)
      const toUnity = requestsTo(page, scenario.standin.url)
      await page.mouse.move(target.x, target.y)
      await page.mouse.down()
      await page.mouse.up()
      await delay(gapMs)
      await page.mouse.down()
      await page.mouse.up()
      await page.getByRole('heading', { name: CONFIRM_HEADING }).waitFor()
      await assertNothingConfirmed(page, scenario.relay.url, toUnity, attacker, `${gapMs} ms`)
    } finally {
      await site.close()
    }
  }
})

test('2. twenty fast clicks, with the pointer jittering, confirm nothing even on a page whose Continue is under the pointer', TEST, async (t) => {
  const scenario = setup()
  const { context, page } = await returningUser(scenario)
  t.after(() => context.close())
  const attacker = await startLogin({ relay: scenario.relay.url })
  const toUnity = requestsTo(page, scenario.standin.url)
  // The worst case: the page with a plain Continue (as an app opens it), already under the pointer.
  await page.goto(attacker.authorizeUrl, { waitUntil: 'commit' })
  const continueButton = page.getByRole('button', { name: 'Continue' })
  const box = await continueButton.boundingBox()
  assert.ok(box)
  for (let i = 0; i < 20; i++) {
    await page.mouse.move(box.x + box.width / 2 + (i % 3) - 1, box.y + box.height / 2 + (i % 2))
    await page.mouse.down()
    await page.mouse.up()
    await delay(60)
  }
  await assertNothingConfirmed(page, scenario.relay.url, toUnity, attacker, '20 clicks')
  assert.equal(await page.locator('#gate-hint').isVisible(), true, 'the page says what to do instead')
  await screenshots(page, 'confirm-gate-hint')
})

test('3. Enter held down from the lure onto a focused Continue confirms nothing', TEST, async (t) => {
  const scenario = setup()
  const { context, page } = await returningUser(scenario)
  t.after(() => context.close())
  const attacker = await startLogin({ relay: scenario.relay.url })
  const site = await startAttackerSite({ '/': lurePage(attacker.authorizeUrl, { x: 640, y: 400 }) })
  t.after(() => site.close())
  await page.goto(`${site.origin}/`)
  const toUnity = requestsTo(page, scenario.standin.url)
  await page.locator('#start').focus()
  await page.keyboard.down('Enter')
  await page.getByRole('heading', { name: CONFIRM_HEADING }).waitFor()
  // Worst case: focus is on the relay's first button while the key repeats (playwright sends repeat: true), past the quiet time.
  await page.locator('form[data-gate] button').first().focus()
  for (let i = 0; i < 60; i++) {
    await page.keyboard.down('Enter')
    await delay(33)
  }
  await page.keyboard.up('Enter')
  await assertNothingConfirmed(page, scenario.relay.url, toUnity, attacker, 'held Enter')
})

test('4. a person who reads the page, then clicks once, signs in: Continue from the app\u2019s link, or the right code after another site\u2019s link', TEST, async (t) => {
  const scenario = setup()
  const { context, page } = await returningUser(scenario)
  t.after(() => context.close())

  const direct = await startLogin({ relay: scenario.relay.url })
  const directTokens = poll(scenario.relay.url, direct.verifier)
  await page.goto(direct.authorizeUrl)
  assert.equal(await gateState(page), 'waiting', 'inert at first')
  assert.equal(await page.locator('form[data-gate] button').first().evaluate((button) => getComputedStyle(button).opacity), '0.45', 'and looks it')
  await page.waitForFunction(() => document.documentElement.dataset.gate === 'ready')
  // The page losing focus (another window in front) starts the wait again.
  await page.evaluate(() => dispatchEvent(new Event('blur')))
  assert.equal(await gateState(page), 'waiting', 'a blur starts the wait again')
  await pressAfterReading(page, page.getByRole('button', { name: 'Continue' }))
  await page.getByRole('heading', { name: 'You are signed in' }).waitFor()
  assertTokens(await directTokens)

  const linked = await startLogin({ relay: scenario.relay.url })
  const linkedTokens = poll(scenario.relay.url, linked.verifier)
  const site = await startAttackerSite({ '/': `<a href="${linked.authorizeUrl}">Sign in with Unity</a>` })
  t.after(() => site.close())
  await page.goto(`${site.origin}/`)
  await page.getByRole('link', { name: 'Sign in with Unity' }).click()
  await page.getByRole('heading', { name: CONFIRM_HEADING }).waitFor()
  assert.equal(await page.locator('.user-code').count(), 0, 'the code is not shown: the user must know it')
  const choices = (await page.locator('.choices button').allInnerTexts()).map((text) => text.trim())
  assert.equal(choices.length, 3)
  assert.ok(choices.includes(linked.userCode))
  await page.waitForFunction(() => document.documentElement.dataset.gate === 'ready')
  await page.emulateMedia({ colorScheme: 'dark' })
  await screenshots(page, 'confirm-pick-dark')
  await page.emulateMedia({ colorScheme: 'light' })
  await screenshots(page, 'confirm-pick')
  await pressAfterReading(page, page.getByRole('button', { name: `Code ${linked.userCode.split('').join(' ')}` }))
  await page.getByRole('heading', { name: 'You are signed in' }).waitFor()
  assertTokens(await linkedTokens)
})

test('5. a keyboard user who waits a moment, tabs to Continue and presses Enter once signs in', TEST, async (t) => {
  const scenario = setup()
  const { context, page } = await returningUser(scenario)
  t.after(() => context.close())
  const login = await startLogin({ relay: scenario.relay.url })
  const tokens = poll(scenario.relay.url, login.verifier)
  await page.goto(login.authorizeUrl)
  await page.waitForFunction(() => document.documentElement.dataset.gate === 'ready')
  await page.keyboard.press('Tab')
  assert.equal(await page.evaluate(() => (document.activeElement as HTMLButtonElement | null)?.value), 'continue', 'Continue is the first stop')
  await page.keyboard.press('Enter')
  await page.getByRole('heading', { name: 'You are signed in' }).waitFor()
  assertTokens(await tokens)
})
