/**
 * What Deno KV's grants do across processes (e.g. Deno Deploy isolates), as docs/stores.md says: two
 * stores on one KV stand for two processes. Concurrent refreshes of one generation in different
 * processes both reach Unity; the versionstamp-checked commit lets one rotate, and the other's
 * tokens are refused without revoking the grant. The previous generation within the grace, in a
 * process that does not hold the answer, is refused without revoking; past the grace it revokes.
 */
import { strict as assert } from 'node:assert'
import { newGrantId } from '../../src/refresh-seal.ts'
import { DENO_KV_GRANT_PREFIX, DenoKvCodeStore } from '../../src/stores/deno-kv.ts'
import type { GrantAnswer } from '../../src/stores/grant-state.ts'

const TOKENS: GrantAnswer = { kind: 'tokens', body: '{"access_token":"at-1"}' }

Deno.test('Deno KV grants across two processes: one rotation wins, the other is refused, nothing is revoked until a reuse past the grace', async () => {
  const kv = await Deno.openKv(':memory:')
  try {
    const [one, two] = [new DenoKvCodeStore(kv), new DenoKvCodeStore(kv)]
    const t = Math.floor(Date.now() / 1000)
    const grantId = newGrantId()
    await one.startGrant(grantId, { generation: 0, exp: t + 3600, rotatedAt: t }, t)
    let calls = 0
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    const exchange = async () => (calls++, await held, TOKENS)
    const rule = { nowSeconds: t, graceSeconds: 10 }
    const racing = Promise.all([one.refreshGrant(grantId, 0, rule, exchange), two.refreshGrant(grantId, 0, rule, exchange)])
    await new Promise((resolve) => setTimeout(resolve, 20))
    release()
    const results = await racing
    assert.equal(calls, 2, 'each process asks Unity')
    const kinds = results.map((result) => (result.kind === 'answered' ? result.answer.kind : result.kind)).sort()
    assert.deepEqual(kinds, ['rejected', 'tokens'])
    const rejected = results.find((result) => result.kind === 'answered' && result.answer.kind === 'rejected')
    assert.equal(rejected?.kind === 'answered' && rejected.answer.kind !== 'tokens' && rejected.answer.code, 'invalid_grant')
    assert.deepEqual((await kv.get([...DENO_KV_GRANT_PREFIX, grantId])).value, { generation: 1, exp: t + 3600, rotatedAt: t })

    const winner = results[0]?.kind === 'answered' && results[0].answer.kind === 'tokens' ? one : two
    const other = winner === one ? two : one
    assert.deepEqual(await winner.refreshGrant(grantId, 0, { nowSeconds: t + 5, graceSeconds: 10 }, exchange), { kind: 'answered', answer: TOKENS }, 'the winning process keeps its answer for the grace')
    assert.deepEqual(await other.refreshGrant(grantId, 0, { nowSeconds: t + 5, graceSeconds: 10 }, exchange), { kind: 'refused', reason: 'superseded' })
    assert.equal(((await kv.get([...DENO_KV_GRANT_PREFIX, grantId])).value as { revoked?: true }).revoked, undefined)
    assert.deepEqual(await other.refreshGrant(grantId, 0, { nowSeconds: t + 10, graceSeconds: 10 }, exchange), { kind: 'refused', reason: 'reused' })
    assert.deepEqual(await winner.refreshGrant(grantId, 1, { nowSeconds: t + 10, graceSeconds: 10 }, exchange), { kind: 'refused', reason: 'revoked' }, 'a revocation in one process holds in every other')
    assert.equal(calls, 2)
  } finally {
    kv.close()
  }
})
