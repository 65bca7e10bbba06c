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
    assert.ok(Date.now() - started < 2000)
    assert.ok(calls() >= 3, `polled ${calls()} times`)
    assert.match(explainFailure(result, 720), /^Gave up after 720 s .*STATE_TTL_SECONDS.*CODE_TTL_SECONDS/)
  })
})

for (const [error, hint] of [['invalid_grant', /already picked up/], ['access_denied', /cancelled/], ['expired_token', /expired/]] as const) {
  Deno.test(`pollForTokens stops at once on ${error}`, async () => {
    await withRelayAnswering(error, async (url, calls) => {
      const result = await pollForTokens(url, VERIFIER, { intervalMs: 50, timeoutMs: 60_000 })
      assert.equal(calls(), 1)
      assert.equal(result.ok, false)
      if (result.ok) return
      assert.equal(result.timedOut, false)
      assert.equal(result.error, error)
      assert.match(explainFailure(result, 720), hint)
    })
  })
}
