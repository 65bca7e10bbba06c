/**
 * @module
 * One completed login as the storage sees it, shared by each store's operation count: the user
 * presses Continue, the app polls once too early, the user signs in, the app picks up its tokens.
 */
import { strict as assert } from 'node:assert'
import { assertSealedTokens } from './define.ts'
import { RELAY_ORIGIN, startRelay } from './harness.ts'
import type { Flow, Opened, StoreHarness } from './harness.ts'

const CODE = 'unity-code-0123456789'
const TOKENS = '{"access_token":"at-123","token_type":"Bearer","expires_in":2592000,"refresh_token":"rt-456","scope":"api"}'

/** Hooks into the login, e.g. to start counting once the flow's challenge is known. */
export interface LoginHooks {
  /** Runs after GET /authorize, before the first store operation (the Continue). */
  readonly started?: (flow: Opened) => Promise<void>
}

/** Runs one login with one pending poll on `harness`; every step is asserted. */
export async function loginWithOnePendingPoll(harness: StoreHarness, hooks: LoginHooks = {}): Promise<Flow> {
  const relay = await startRelay(harness)
  const opened = await relay.open()
  await hooks.started?.(opened)
  const continued = await relay.decide(opened, 'continue')
  assert.equal(continued.status, 303)
  const flow: Flow = { ...opened, location: new URL(continued.headers.get('Location') ?? '') }
  const early = await relay.pickup(flow.verifier)
  assert.equal(early.status, 400)
  assert.equal(((await early.json()) as { error: string }).error, 'authorization_pending')
  assert.equal((await relay.callback(flow, { code: CODE, state: flow.state })).status, 200)
  relay.unity.expectTokenCall(
    { grant_type: 'authorization_code', code: CODE, redirect_uri: `${RELAY_ORIGIN}/callback`, code_verifier: flow.verifier },
    { status: 200, body: TOKENS },
  )
  await assertSealedTokens(relay, await relay.pickup(flow.verifier), TOKENS)
  relay.unity.verify()
  return flow
}
