/**
 * @module
 * The relay under `wrangler dev` with `CODE_STORE=durable-object` (local SQLite-backed AuthFlows
 * objects): a whole login, the parallel-pickup attack that made the stand-in revoke a grant on
 * Workers KV, and a second sign-in for the same challenge.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startLogin } from '../../dev/app.ts'
import { assertActive, assertPickedUp, confirmOnRelay, decide, happyPath, heading, introspect, newContext, poll, postToken, signIn, signInFromLink } from './flow.ts'
import { BASIC_CLIENT, RELAY_PORTS, useScenario } from './harness.ts'

const TEST = { timeout: 60_000 } as const
const PARALLEL_PICKUPS = 5

const setup = useScenario(RELAY_PORTS.durableObject, { CODE_STORE: 'durable-object' })

test('1. happy path on Durable Objects; the next pickup is told the tokens were already picked up', TEST, async () => {
  const { standin, relay, browser } = setup()
  const login = await startLogin({ relay: relay.url })
  const context = await newContext(browser)
  try {
    const page = await context.newPage()
    const { response } = await signInFromLink(page, standin, relay.url, login)
    assert.equal(response.status(), 200)
    assert.equal(await heading(page), 'You are signed in')
  } finally {
    await context.close()
  }
  const result = await poll(relay.url, login.verifier)
  assert.ok(result.ok, JSON.stringify(result))
  await assertActive(standin, BASIC_CLIENT, result.tokens.access_token as string)
  await assertPickedUp(relay.url, login.verifier, 'the object keeps a tombstone after the exchange')
  // The common helper too: the app polls while the user signs in.
  await happyPath({ browser, standin, relayUrl: relay.url, client: BASIC_CLIENT })
})

test(`2. ${PARALLEL_PICKUPS} parallel pickups: one gets tokens, Unity never sees the code twice, so the tokens stay active`, TEST, async () => {
  const { standin, relay, browser } = setup()
  const login = await startLogin({ relay: relay.url })
  const context = await newContext(browser)
  try {
    const page = await context.newPage()
    assert.equal((await signInFromLink(page, standin, relay.url, login)).response.status(), 200)
  } finally {
    await context.close()
  }
  const form = { grant_type: 'authorization_code', code_verifier: login.verifier }
  const answers = await Promise.all(Array.from({ length: PARALLEL_PICKUPS }, () => postToken(relay.url, form)))
  const winners = answers.filter(({ status }) => status === 200)
  assert.equal(winners.length, 1, JSON.stringify(answers.map(({ status, body }) => [status, body.error])))
  for (const { status, body } of answers.filter(({ status }) => status !== 200)) {
    assert.equal(status, 400)
    assert.match(String(body.error), /^(authorization_pending|invalid_grant)$/)
  }
  // oidc-provider revokes the whole grant when a code is redeemed twice (RFC 6749 §4.1.2).
  await assertActive(standin, BASIC_CLIENT, winners[0]?.body.access_token as string)
  await assertPickedUp(relay.url, login.verifier, 'after the race the flow is spent')
})

test('3. a second Continue for the same challenge, from another browser, is refused with a page; the app gets the first user', TEST, async () => {
  const { standin, relay, browser } = setup()
  const login = await startLogin({ relay: relay.url })
  const victim = await newContext(browser)
  const other = await newContext(browser)
  try {
    const victimPage = await victim.newPage()
    await victimPage.goto(login.authorizeUrl)
    await confirmOnRelay(victimPage, login, 'Continue')
    await signIn(victimPage, standin, 'e2e-victim')
    // Someone who learnt the link opens it in their own browser to sign in as themselves.
    const otherPage = await other.newPage()
    await otherPage.goto(login.authorizeUrl)
    const refused = otherPage.waitForResponse((response) => new URL(response.url()).pathname === '/authorize' && response.request().method() === 'POST')
    await confirmOnRelay(otherPage, login, 'Continue')
    assert.equal((await refused).status(), 409)
    assert.equal(await heading(otherPage), 'This sign-in is already under way elsewhere')

    assert.equal((await decide(victimPage, relay.url, 'Allow')).response.status(), 200)
  } finally {
    await Promise.allSettled([victim.close(), other.close()])
  }
  const result = await poll(relay.url, login.verifier)
  assert.ok(result.ok, JSON.stringify(result))
  const info = await introspect(standin, BASIC_CLIENT, result.tokens.access_token as string)
  assert.equal(info.active, true)
  assert.equal(info.sub, 'e2e-victim', 'the first sign-in is the one kept')
})
