/**
 * @module
 * Contract of the refusal log: every refused request leaves exactly one `request.refused` line
 * with its relay error code, its status and, once the flow is known, the flow's 8-character id;
 * a flood is cut to the budget, and the next window says how many lines were held back.
 */
import { strict as assert } from 'node:assert'
import { challengeOf, makeVerifier } from '../../dev/pkce.ts'
import { MemoryRateLimiter } from '../../src/limits/memory-limiter.ts'
import { REFUSAL_LOG_BUDGET } from '../../src/log-budget.ts'
import { assertErrorPage, assertJsonError, contract } from './define.ts'
import { RELAY_ORIGIN, TEST_PEER_HEADER } from './harness.ts'
import type { RelayUnderTest } from './harness.ts'

const CODE = 'unity-code-0123456789'
const TOKENS = '{"access_token":"at-123","token_type":"Bearer","refresh_token":"rt-456"}'

/** The log lines `relay` writes while `act` runs, parsed. */
async function linesOf(relay: RelayUnderTest, act: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const since = relay.logs.length
  await act()
  return relay.logs.slice(since).map((line) => JSON.parse(line) as Record<string, unknown>)
}

function refused(error: string, status: number, challenge?: string): Record<string, unknown> {
  return { level: 'warn', event: 'request.refused', error, status, ...(challenge === undefined ? {} : { flow: challenge.slice(0, 8) }) }
}

export const refusalCases = [
  contract('refusal log: a cross-site decision (403) is one line, before the flow is known', async (start) => {
    const relay = await start()
    const opened = await relay.open()
    const lines = await linesOf(relay, async () => {
      await assertErrorPage(await relay.decide(opened, 'continue', { headers: { 'Sec-Fetch-Site': 'cross-site' } }), 403, 'cross_site_request')
    })
    assert.deepEqual(lines, [refused('cross_site_request', 403)])
  }),

  contract('refusal log: a bad state is one line at POST /authorize and at /callback, without a flow', async (start) => {
    const relay = await start()
    const flow = await relay.authorize()
    const tampered = `${flow.state.slice(0, -1)}${flow.state.at(-1) === 'A' ? 'B' : 'A'}`
    const opened = await relay.open()
    const lines = await linesOf(relay, async () => {
      await assertErrorPage(await relay.decide(opened, 'continue', { state: tampered }), 400, 'invalid_state')
      await assertErrorPage(await relay.callback(flow, { code: CODE, state: tampered }), 400, 'invalid_state')
    })
    assert.deepEqual(lines, [refused('invalid_state', 400), refused('invalid_state', 400)])
  }),

  contract('refusal log: browser_mismatch names the flow at POST /authorize and at /callback', async (start) => {
    const relay = await start()
    const opened = await relay.open()
    const flow = await relay.authorize()
    const lines = await linesOf(relay, async () => {
      await assertErrorPage(await relay.decide(opened, 'continue', { cookie: null }), 400, 'browser_mismatch')
      await assertErrorPage(await relay.callback(flow, { code: CODE, state: flow.state }, { cookie: null }), 400, 'browser_mismatch')
    })
    assert.deepEqual(lines, [refused('browser_mismatch', 400, opened.challenge), refused('browser_mismatch', 400, flow.challenge)])
    assert.deepEqual(Object.keys((await relay.raw.get(flow.challenge)) as object), ['confirmed', 'exp'], 'only the Continue’s confirmation: no result')
  }),

  contract('refusal log: a wrong iss (UNITY_ISSUER set) is one line with the flow', async (start) => {
    const relay = await start({ env: { UNITY_ISSUER: 'https://unity.example.com/vu/public' } })
    const flow = await relay.authorize()
    const lines = await linesOf(relay, async () => {
      await assertErrorPage(await relay.callback(flow, { code: CODE, state: flow.state, iss: 'https://evil.example' }), 400, 'issuer_mismatch')
    })
    assert.deepEqual(lines, [refused('issuer_mismatch', 400, flow.challenge)])
  }),

  contract('refusal log: a 429 from a per-address limit is one line', async (start) => {
    const now = Date.now()
    const relay = await start({ limiters: { authorize: new MemoryRateLimiter({ limit: 1, periodSeconds: 60, clock: () => now }) }, clock: () => now })
    const url = `/authorize?code_challenge=${await challengeOf(makeVerifier())}&code_challenge_method=S256`
    const peer = { headers: { [TEST_PEER_HEADER]: '203.0.113.7' } }
    assert.equal((await relay.fetch(url, peer)).status, 200)
    const lines = await linesOf(relay, async () => {
      await assertErrorPage(await relay.fetch(url, peer), 429, 'rate_limited')
    })
    assert.deepEqual(lines, [refused('rate_limited', 429)])
    assert.equal(relay.logs.join('\n').includes('203.0.113.7'), false, 'no address in the logs')
  }),

  contract('refusal log: a second result for a flow (flow_finished) is one line, not two', async (start) => {
    const relay = await start()
    const flow = await relay.authorize()
    const opened = await relay.open({ verifier: flow.verifier })
    assert.equal((await relay.callback(flow, { code: CODE, state: flow.state })).status, 200)
    const lines = await linesOf(relay, async () => {
      await assertErrorPage(await relay.decide(opened, 'cancel'), 409, 'flow_finished')
    })
    assert.deepEqual(lines, [refused('flow_finished', 409, flow.challenge)])
  }),

  contract('refusal log: pickups name the flow; the pending poll, also while another pickup holds the code, logs nothing', async (start) => {
    let reached: () => void = () => {}
    const atUnity = new Promise<void>((resolve) => (reached = resolve))
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => (release = resolve))
    const relay = await start({
      wrapFetch: (fetch) => async (input, init) => {
        reached()
        await held
        return fetch(input, init)
      },
    })
    const flow = await relay.authorize()
    const pending = await linesOf(relay, async () => {
      await assertJsonError(await relay.pickup(flow.verifier), 400, 'authorization_pending')
    })
    assert.deepEqual(pending, [])
    assert.equal((await relay.callback(flow, { code: CODE, state: flow.state })).status, 200)
    relay.unity.expectTokenCall({ grant_type: 'authorization_code', code: CODE, redirect_uri: `${RELAY_ORIGIN}/callback`, code_verifier: flow.verifier }, { status: 200, body: TOKENS })
    const first = relay.pickup(flow.verifier)
    await atUnity
    const busy = await linesOf(relay, async () => {
      const response = await relay.pickup(flow.verifier)
      assert.match(String((await assertJsonError(response, 400, 'authorization_pending')).error_description), /in progress/)
    })
    assert.deepEqual(busy, [])
    release()
    assert.equal((await first).status, 200)
    const spent = await linesOf(relay, async () => {
      await assertJsonError(await relay.pickup(flow.verifier), 400, 'invalid_grant')
    })
    assert.deepEqual(spent, [refused('invalid_grant', 400, flow.challenge)])
  }),

  contract('refusal log: a wrong user code at /device is one line, and the entry form none', async (start) => {
    const relay = await start()
    const lines = await linesOf(relay, async () => {
      assert.equal((await relay.fetch('/device')).status, 200)
      assert.equal((await relay.fetch('/device?user_code=BBBB-BBBB')).status, 400)
      assert.equal((await relay.fetch('/device?user_code=x')).status, 400)
    })
    assert.deepEqual(lines, [refused('unknown_user_code', 400), refused('unknown_user_code', 400)])
  }),

  contract(`refusal log: a flood gets ${REFUSAL_LOG_BUDGET.limit} lines per ${REFUSAL_LOG_BUDGET.windowSeconds} s, then one line with the count held back`, async (start) => {
    const relay = await start()
    const { limit, windowSeconds } = REFUSAL_LOG_BUDGET
    const flood = await linesOf(relay, async () => {
      for (let i = 0; i < limit + 17; i++) assert.equal((await relay.fetch('/authorize')).status, 400)
    })
    assert.equal(flood.length, limit)
    for (const line of flood) assert.deepEqual(line, refused('invalid_request', 400))
    relay.advance(windowSeconds - 1)
    assert.deepEqual(await linesOf(relay, () => relay.fetch('/authorize')), [], 'still the same window')
    relay.advance(1)
    // Any request after the window reports it, a healthy one included.
    assert.deepEqual(await linesOf(relay, () => relay.fetch('/healthz')), [{ level: 'warn', event: 'request.refused_unlogged', count: 18 }])
    assert.deepEqual(await linesOf(relay, () => relay.fetch('/healthz')), [], 'reported once')
    assert.deepEqual(await linesOf(relay, () => relay.fetch('/authorize')), [refused('invalid_request', 400)], 'a new window has its own budget')
  }),

  contract('refusal log: the held-back count is also reported by the next refusal, ahead of its own line', async (start) => {
    const relay = await start()
    const { limit, windowSeconds } = REFUSAL_LOG_BUDGET
    for (let i = 0; i < limit + 2; i++) await relay.fetch('/token')
    relay.advance(windowSeconds)
    const lines = await linesOf(relay, () => relay.fetch('/token'))
    assert.deepEqual(lines, [{ level: 'warn', event: 'request.refused_unlogged', count: 2 }, refused('method_not_allowed', 405)])
  }),

  contract('refusal log: no line carries a state, code, verifier, cookie or a challenge past its 8 characters', async (start) => {
    const issuer = 'https://unity.example.com/vu/public'
    const relay = await start({ env: { UNITY_ISSUER: issuer } })
    const flow = await relay.authorize()
    const opened = await relay.open()
    await relay.decide(opened, 'continue', { cookie: null })
    await relay.decide(opened, 'continue', { headers: { 'Sec-Fetch-Site': 'cross-site' } })
    await relay.decide(opened, 'continue', { state: `${opened.state}x` })
    await relay.callback(flow, { code: CODE, state: flow.state, iss: 'https://evil.example' })
    assert.equal((await relay.callback(flow, { code: CODE, state: flow.state, iss: issuer })).status, 200)
    await relay.fetch(`/callback?code=${CODE}&state=${encodeURIComponent(flow.state)}x`)
    relay.unity.expectTokenCall({ grant_type: 'authorization_code', code: CODE, redirect_uri: `${RELAY_ORIGIN}/callback`, code_verifier: flow.verifier }, { status: 200, body: TOKENS })
    assert.equal((await relay.pickup(flow.verifier)).status, 200)
    await relay.pickup(flow.verifier)
    await relay.pickup(makeVerifier())
    const lines = relay.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.event === 'request.refused')
    assert.ok(lines.length >= 6, JSON.stringify(lines))
    for (const line of lines) {
      assert.deepEqual(Object.keys(line).filter((key) => !['level', 'event', 'error', 'status', 'flow'].includes(key)), [])
      if (line.flow !== undefined) assert.equal(String(line.flow).length, 8)
    }
    const text = relay.logs.join('\n')
    for (const secret of [CODE, flow.state, opened.state, flow.verifier, opened.verifier, flow.challenge, opened.challenge, flow.cookie.split('=')[1] ?? '', opened.cookie.split('=')[1] ?? '']) {
      assert.equal(text.includes(secret), false, `log contains ${secret.slice(0, 6)}…`)
    }
  }),
]
