/**
 * The app script's polling (dev/app.ts): it waits on `authorization_pending` only until its
 * deadline, and stops at once on a final answer such as `invalid_grant`.
 */
import { strict as assert } from 'node:assert'
import { explainFailure, pollForTokens } from '../../dev/app.ts'

const VERIFIER = 'a'.repeat(43)

async function withRelayAnswering(error: string, body: (url: string, calls: () => number) => Promise<void>): Promise<void> {
  let calls = 0
  const server = Deno.serve({ port: 0, hostname: '127.0.0.1', onListen: () => {} }, () => {
    calls++
    return Response.json({ error, error_description: 'from the test relay' }, { status: 400 })
  })
  try {
    await body(`http://127.0.0.1:${server.addr.port}`, () => calls)
  } finally {
    await server.shutdown()
  }
}

Deno.test('pollForTokens gives up on authorization_pending at its deadline, and says so', async () => {
  await withRelayAnswering('authorization_pending', async (url, calls) => {
    const started = Date.now()
    const result = await pollForTokens(url, VERIFIER, { intervalMs: 50, timeoutMs: 400 })
    assert.equal(result.ok, false)
    if (result.ok) return
    assert.equal(result.timedOut, true)
    const took = Date.now() - started
    assert.ok(took >= 400 && took < 2000, `polled for ${took} ms, the deadline is 400 ms`)
    assert.ok(result.waitedMs >= 400, `says it waited ${result.waitedMs} ms`)
    assert.ok(calls() >= 8, `polled ${calls()} times, the last at the deadline`)
    assert.match(explainFailure(result, 600), /^Stopped waiting after 0 s \(--wait\) .*may still finish.*600 s \(STATE_TTL_SECONDS\)/)
    assert.match(explainFailure({ ...result, waitedMs: 610_000 }, 600), /^Gave up after 610 s .*cannot finish any more/)
  })
})

Deno.test('pollForTokens: a short deadline is kept, not cut one interval early', async () => {
  await withRelayAnswering('authorization_pending', async (url) => {
    const started = Date.now()
    const result = await pollForTokens(url, VERIFIER, { intervalMs: 300, timeoutMs: 800 })
    const took = Date.now() - started
    assert.ok(took >= 800 && took < 1500, `polled for ${took} ms`)
    assert.equal(result.ok, false)
  })
})

Deno.test('explainFailure: the relay’s description once, without a doubled period; a hint only when the relay sent none', () => {
  const base = { ok: false, status: 400, timedOut: false, waitedMs: 1000 } as const
  const cancelled = explainFailure({ ...base, error: 'access_denied', description: 'The user cancelled the sign-in on the relay’s page. Start a new sign-in if they want to try again.' })
  assert.equal(cancelled, 'Sign-in ended with 400 access_denied: The user cancelled the sign-in on the relay’s page. Start a new sign-in if they want to try again.')
  assert.doesNotMatch(cancelled, /\.\.|Unity refused/)
  assert.match(explainFailure({ ...base, error: 'access_denied' }), /: The user cancelled, or Unity refused the sign-in\. Start a new sign-in\.$/)
})

for (const error of ['invalid_grant', 'access_denied', 'expired_token'] as const) {
  Deno.test(`pollForTokens stops at once on ${error}`, async () => {
    await withRelayAnswering(error, async (url, calls) => {
      const result = await pollForTokens(url, VERIFIER, { intervalMs: 50, timeoutMs: 60_000 })
      assert.equal(calls(), 1)
      assert.equal(result.ok, false)
      if (result.ok) return
      assert.equal(result.timedOut, false)
      assert.equal(result.error, error)
      assert.equal(explainFailure(result), `Sign-in ended with 400 ${error}: from the test relay`)
    })
  })
}
