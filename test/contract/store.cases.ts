/**
 * @module
 * Contract of the store itself, below HTTP: create-only saves, claims, tombstones and device
 * records, read back from the real backend. Every runtime runs these on each of its stores.
 */
import { strict as assert } from 'node:assert'
import { CLAIM_LEASE_SECONDS } from '../../src/store.ts'
import type { CodeRecord, CodeStore, FlowRecord, FlowWriteResult, Pickup } from '../../src/store.ts'
import { newGrantId } from '../../src/refresh-seal.ts'
import { USER_CODE_ALPHABET, USER_CODE_LENGTH } from '../../src/user-code.ts'
import type { GrantAnswer } from '../../src/stores/grant-state.ts'
import type { ContractCase } from './define.ts'
import type { RawRecords, StoreHarness } from './harness.ts'

/** A store case: gets a fresh store on the runtime's real backend and its raw view. */
function storeCase(name: string, body: (store: CodeStore, raw: RawRecords, harness: StoreHarness) => Promise<void>): ContractCase {
  return {
    name: `store: ${name}`,
    async run(harness) {
      const { store, raw } = await harness.open()
      await body(store, raw, harness)
    },
  }
}

let counter = 0
/** A challenge no other case uses (the Workers backends are shared by every case in a file). */
function freshChallenge(): string {
  counter++
  return `${crypto.randomUUID().replaceAll('-', '')}${String(counter).padStart(11, '0')}`.slice(0, 43)
}

/** A user code no other case uses, in stored form. */
function freshUserCode(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(USER_CODE_LENGTH)), (byte) => USER_CODE_ALPHABET[byte % USER_CODE_ALPHABET.length]).join('')
}

const now = () => Math.floor(Date.now() / 1000)

/** A replay-cache key no other case uses: 43 characters of base64url, like a SHA-256. */
function freshProofKey(): string {
  return freshChallenge()
}

function codeRecord(code: string, exp = now() + 120): CodeRecord {
  return { code, redirect_uri: 'https://relay.example.com/callback', exp }
}

const BROWSER = 'binding-hash-of-browser-a'
const OTHER_BROWSER = 'binding-hash-of-browser-b'

/** Continue, then the callback's result, from one browser: how every result reaches a flow. */
async function saveConfirmed(store: CodeStore, challenge: string, record: FlowRecord, ttlSeconds = 120): Promise<FlowWriteResult> {
  assert.equal(await store.confirm(challenge, BROWSER, record.exp, ttlSeconds), 'created')
  return store.save(challenge, record, ttlSeconds, { binding: BROWSER })
}

function claimed(pickup: Pickup) {
  assert.equal(pickup.kind, 'claimed', JSON.stringify(pickup))
  if (pickup.kind !== 'claimed') throw new Error('unreachable')
  return pickup.claim
}

const TOKENS_ANSWER: GrantAnswer = { kind: 'tokens', body: '{"access_token":"at-1"}' }

/** An exchange that counts its calls and answers `answer`, after `hold` if given. */
function exchanges(answer: GrantAnswer = TOKENS_ANSWER, hold?: Promise<void>) {
  const counter = { calls: 0, exchange: async () => (counter.calls++, await hold, answer) }
  return counter
}

export const storeCases: readonly ContractCase[] = [
  storeCase('grants: a started grant refreshes at its generation and its record moves (Workers KV: stays); an unknown, expired or revoked one is refused without an exchange', async (store, raw) => {
    const grantId = newGrantId()
    const t = now()
    const rule = { nowSeconds: t, graceSeconds: 10 }
    await store.startGrant(grantId, { generation: 0, exp: t + 3600, rotatedAt: t }, t)
    assert.deepEqual(await raw.getGrant(grantId), { generation: 0, exp: t + 3600, rotatedAt: t })
    const counted = exchanges()
    assert.deepEqual(await store.refreshGrant(grantId, 0, rule, counted.exchange), { kind: 'answered', answer: TOKENS_ANSWER })
    assert.equal(counted.calls, 1)
    assert.deepEqual(await raw.getGrant(grantId), store.rotation === 'enforced' ? { generation: 1, exp: t + 3600, rotatedAt: t } : { generation: 0, exp: t + 3600, rotatedAt: t })
    const refused = exchanges()
    assert.deepEqual(await store.refreshGrant(newGrantId(), 0, rule, refused.exchange), { kind: 'refused', reason: 'unknown' })
    assert.deepEqual(await store.refreshGrant(grantId, 1, { nowSeconds: t + 3600, graceSeconds: 10 }, refused.exchange), { kind: 'refused', reason: 'unknown' })
    await store.revokeGrant(grantId, t)
    assert.deepEqual(await raw.getGrant(grantId), { ...(store.rotation === 'enforced' ? { generation: 1 } : { generation: 0 }), exp: t + 3600, rotatedAt: t, revoked: true })
    assert.deepEqual(await store.refreshGrant(grantId, 1, rule, refused.exchange), { kind: 'refused', reason: 'revoked' })
    assert.deepEqual(await store.refreshGrant(grantId, 0, rule, refused.exchange), { kind: 'refused', reason: 'revoked' })
    assert.equal(refused.calls, 0)
    await store.revokeGrant(newGrantId(), t)
  }),

  storeCase('grants: an older generation past the grace revokes the grant; within it, the previous generation gets the kept answer; a failed answer is not kept', async (store, raw) => {
    if (store.rotation !== 'enforced') return
    const t = now()
    const grantId = newGrantId()
    await store.startGrant(grantId, { generation: 0, exp: t + 3600, rotatedAt: t }, t)
    const failing = exchanges({ kind: 'unavailable', code: 'upstream_unavailable', description: 'down', status: 502, headers: {} })
    assert.equal(((await store.refreshGrant(grantId, 0, { nowSeconds: t, graceSeconds: 10 }, failing.exchange)) as { kind: string }).kind, 'answered')
    const counted = exchanges()
    await store.refreshGrant(grantId, 0, { nowSeconds: t, graceSeconds: 10 }, counted.exchange)
    assert.equal(counted.calls, 1, 'a failure is not kept: the retry exchanges')
    assert.deepEqual(await store.refreshGrant(grantId, 0, { nowSeconds: t + 9, graceSeconds: 10 }, counted.exchange), { kind: 'answered', answer: TOKENS_ANSWER })
    assert.equal(counted.calls, 1, 'within the grace the previous generation gets the kept answer')
    assert.deepEqual(await store.refreshGrant(grantId, 0, { nowSeconds: t + 10, graceSeconds: 10 }, counted.exchange), { kind: 'refused', reason: 'reused' })
    assert.deepEqual(await raw.getGrant(grantId), { generation: 1, exp: t + 3600, rotatedAt: t, revoked: true })
    assert.deepEqual(await store.refreshGrant(grantId, 1, { nowSeconds: t + 10, graceSeconds: 10 }, counted.exchange), { kind: 'refused', reason: 'revoked' })
    assert.equal(counted.calls, 1)
  }),

  storeCase('grants: concurrent refreshes of one generation share one exchange (Workers KV: one each)', async (store, raw) => {
    const t = now()
    const grantId = newGrantId()
    await store.startGrant(grantId, { generation: 0, exp: t + 3600, rotatedAt: t }, t)
    let release!: () => void
    const counted = exchanges(TOKENS_ANSWER, new Promise<void>((resolve) => (release = resolve)))
    const rule = { nowSeconds: t, graceSeconds: 10 }
    const racing = Promise.all([1, 2, 3].map(() => store.refreshGrant(grantId, 0, rule, counted.exchange)))
    await new Promise((resolve) => setTimeout(resolve, 50))
    release()
    for (const result of await racing) assert.deepEqual(result, { kind: 'answered', answer: TOKENS_ANSWER })
    assert.equal(counted.calls, store.rotation === 'enforced' ? 1 : 3)
    if (store.rotation === 'enforced') assert.deepEqual(await raw.getGrant(grantId), { generation: 1, exp: t + 3600, rotatedAt: t })
  }),

  storeCase('grants: a revocation while a refresh is under way wins: its tokens are refused and the record stays revoked', async (store, raw) => {
    if (store.rotation !== 'enforced') return
    const t = now()
    const grantId = newGrantId()
    await store.startGrant(grantId, { generation: 0, exp: t + 3600, rotatedAt: t }, t)
    let release!: () => void
    const counted = exchanges(TOKENS_ANSWER, new Promise<void>((resolve) => (release = resolve)))
    const refreshing = store.refreshGrant(grantId, 0, { nowSeconds: t, graceSeconds: 10 }, counted.exchange)
    await new Promise((resolve) => setTimeout(resolve, 20))
    await store.revokeGrant(grantId, t)
    release()
    const result = await refreshing
    assert.equal(result.kind === 'answered' && result.answer.kind, 'rejected')
    assert.deepEqual(await raw.getGrant(grantId), { generation: 0, exp: t + 3600, rotatedAt: t, revoked: true })
  }),

  storeCase('save is create-only: the first record stays', async (store, raw) => {
    const challenge = freshChallenge()
    const first = codeRecord('first')
    assert.equal(await saveConfirmed(store, challenge, first), 'created')
    assert.equal(await store.save(challenge, codeRecord('second'), 120, { binding: BROWSER }), 'exists')
    assert.equal(await store.save(challenge, { error: 'access_denied', exp: first.exp }, 120, { binding: BROWSER, unconfirmed: 'allow' }), 'exists')
    assert.equal(await store.save(challenge, codeRecord('third'), 120, { binding: OTHER_BROWSER }), 'exists')
    assert.equal(await store.confirm(challenge, BROWSER, first.exp, 120), 'exists', 'a result is never confirmed again')
    assert.equal(await store.confirm(challenge, OTHER_BROWSER, first.exp, 120), 'exists')
    assert.deepEqual(await raw.get(challenge), first)
  }),

  storeCase('confirm: stores the browser’s binding until exp; the same browser again writes nothing, another is refused', async (store, raw) => {
    const challenge = freshChallenge()
    const exp = now() + 300
    assert.equal(await store.confirm(challenge, BROWSER, exp, 300), 'created')
    assert.deepEqual(await raw.get(challenge), { confirmed: BROWSER, exp })
    const expiration = await raw.expiration(challenge)
    if (expiration !== undefined) assert.ok(Math.abs(expiration - exp) <= 2, `backend expiry ${expiration}, exp ${exp}`)
    assert.equal(await store.confirm(challenge, BROWSER, exp, 300), 'created', 'a double submit')
    assert.equal(await store.confirm(challenge, OTHER_BROWSER, exp + 10, 300), 'elsewhere')
    assert.deepEqual(await raw.get(challenge), { confirmed: BROWSER, exp })
    assert.equal((await store.claim(challenge, now())).kind, 'pending', 'a confirmation is not a result')
  }),

  storeCase('save: a result needs its own browser’s confirmation; only a Cancel may end an empty flow', async (store, raw) => {
    const empty = freshChallenge()
    assert.equal(await store.save(empty, codeRecord('injected'), 120, { binding: BROWSER }), 'unconfirmed')
    assert.equal(await store.save(empty, { error: 'server_error', exp: now() + 120 }, 120, { binding: BROWSER }), 'unconfirmed')
    assert.equal(await raw.get(empty), null)

    const other = freshChallenge()
    const otherExp = now() + 300
    await store.confirm(other, OTHER_BROWSER, otherExp, 300)
    assert.equal(await store.save(other, codeRecord('injected'), 120, { binding: BROWSER }), 'elsewhere')
    assert.equal(await store.save(other, { error: 'access_denied', exp: now() + 120 }, 120, { binding: BROWSER, unconfirmed: 'allow' }), 'elsewhere')
    assert.deepEqual(await raw.get(other), { confirmed: OTHER_BROWSER, exp: otherExp })

    const cancelled = freshChallenge()
    const denied = { error: 'access_denied', exp: now() + 120 } as const
    assert.equal(await store.save(cancelled, denied, 120, { binding: BROWSER, unconfirmed: 'allow' }), 'created')
    assert.deepEqual(await raw.get(cancelled), denied)
    assert.equal(await store.confirm(cancelled, OTHER_BROWSER, now() + 300, 300), 'exists')

    const own = freshChallenge()
    await store.confirm(own, BROWSER, now() + 300, 300)
    assert.equal(await store.save(own, denied, 120, { binding: BROWSER, unconfirmed: 'allow' }), 'created', 'a Cancel after its own Continue')
    assert.deepEqual(await raw.get(own), denied)
    const expiration = await raw.expiration(own)
    if (expiration !== undefined) assert.ok(Math.abs(expiration - denied.exp) <= 2, `backend expiry ${expiration} follows the result`)
  }),

  storeCase('concurrent writes to one flow: one result wins, one Continue wins, a double submit is fine', async (store, raw) => {
    for (let round = 0; round < 5; round++) {
      const challenge = freshChallenge()
      await store.confirm(challenge, BROWSER, now() + 300, 300)
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => store.save(challenge, codeRecord(`code-${i}`), 120, { binding: BROWSER })))
      assert.deepEqual(results.filter((result) => result === 'created').length, 1, `round ${round}: ${results.join(' ')}`)
      assert.deepEqual(new Set(results.filter((result) => result !== 'created')), new Set(['exists']))
      const stored = (await raw.get(challenge)) as CodeRecord
      assert.equal(stored.code, `code-${results.indexOf('created')}`, 'the stored code is the one answered created')

      const contested = freshChallenge()
      const exp = now() + 300
      const confirms = await Promise.all([store.confirm(contested, BROWSER, exp, 300), store.confirm(contested, OTHER_BROWSER, exp, 300), store.confirm(contested, BROWSER, exp, 300)])
      const winner = (await raw.get(contested)) as { confirmed: string }
      assert.ok(winner.confirmed === BROWSER || winner.confirmed === OTHER_BROWSER)
      assert.deepEqual(confirms, winner.confirmed === BROWSER ? ['created', 'elsewhere', 'created'] : ['elsewhere', 'created', 'elsewhere'])
    }
  }),

  storeCase('a claim holds the code; the other pickup is busy; consume leaves a tombstone until exp', async (store, raw) => {
    const challenge = freshChallenge()
    const record = codeRecord('the-code')
    assert.equal((await store.claim(challenge, now())).kind, 'pending')
    await saveConfirmed(store, challenge, record)
    const pickups = await Promise.all([store.claim(challenge, now()), store.claim(challenge, now())])
    assert.deepEqual(pickups.map((pickup) => pickup.kind).sort(), ['busy', 'claimed'])
    const claim = claimed(pickups.find((pickup) => pickup.kind === 'claimed') ?? { kind: 'pending' })
    assert.deepEqual(claim.record, record)
    assert.equal((await store.claim(challenge, now())).kind, 'busy')
    await claim.consume()
    assert.deepEqual(await raw.get(challenge), { spent: true, exp: record.exp })
    assert.equal((await store.claim(challenge, now())).kind, 'spent')
    assert.equal((await store.claim(challenge, record.exp)).kind, 'pending', 'the tombstone ends at exp')
    assert.equal(await store.save(challenge, codeRecord('late'), 120, { binding: BROWSER }), 'exists', 'a tombstone blocks a new record')
    assert.equal(await store.confirm(challenge, OTHER_BROWSER, record.exp, 120), 'exists', 'and a new confirmation')
  }),

  storeCase('release makes the code available to the retry, unchanged', async (store, raw) => {
    const challenge = freshChallenge()
    const record = codeRecord('the-code')
    await saveConfirmed(store, challenge, record)
    await claimed(await store.claim(challenge, now())).release()
    assert.deepEqual(await raw.get(challenge), record)
    const retry = claimed(await store.claim(challenge, now()))
    assert.deepEqual(retry.record, record)
    await retry.consume()
  }),

  storeCase('an error record answers every pickup until exp and is never claimed', async (store) => {
    const challenge = freshChallenge()
    const exp = now() + 120
    await saveConfirmed(store, challenge, { error: 'access_denied', exp })
    for (let poll = 0; poll < 3; poll++) assert.deepEqual(await store.claim(challenge, now()), { kind: 'refused', error: 'access_denied' })
    assert.equal((await store.claim(challenge, exp)).kind, 'pending')
  }),

  storeCase('an expired code still held by the backend is not claimed', async (store, raw) => {
    const challenge = freshChallenge()
    const record = codeRecord('the-code', now() + 60)
    await saveConfirmed(store, challenge, record, 60)
    assert.equal((await store.claim(challenge, record.exp)).kind, 'pending')
    assert.deepEqual(await raw.get(challenge), record, 'the backend has not dropped it yet')
  }),

  storeCase('device records: create-only, found while live, apart from flow records', async (store, raw) => {
    const userCode = freshUserCode()
    const record = { cc: freshChallenge(), sc: 'api', exp: now() + 600 }
    assert.equal(await store.findDevice(userCode, now()), null)
    assert.equal(await store.saveDevice(userCode, record, 600), 'created')
    assert.equal(await store.saveDevice(userCode, { ...record, cc: freshChallenge() }, 600), 'exists')
    assert.deepEqual(await raw.getDevice(userCode), record)
    assert.deepEqual(await store.findDevice(userCode, now()), record)
    assert.equal(await store.findDevice(userCode, record.exp), null, 'expired')
    assert.equal(await raw.get(userCode), null, 'not a flow key')
    assert.equal((await store.claim(userCode, now())).kind, 'pending')
  }),

  storeCase('device records: a malformed user code is never looked up or stored', async (store) => {
    const record = { cc: freshChallenge(), sc: 'api', exp: now() + 600 }
    for (const userCode of ['BCDF-GHJK', 'bcdfghjk', 'BCDFGHJ', 'BCDFGHJKL', 'BCDFGHJA', 'BCDFGHJ1', '', '../flow:x']) {
      assert.equal(await store.findDevice(userCode, now()), null, userCode)
      await assert.rejects(store.saveDevice(userCode, record, 600), RangeError, userCode)
    }
  }),

  storeCase('a claim whose holder vanished is taken over after the lease, and the old holder cannot end it', async (store, raw) => {
    const challenge = freshChallenge()
    const record = codeRecord('the-code')
    await saveConfirmed(store, challenge, record)
    const start = now()
    const vanished = claimed(await store.claim(challenge, start))
    assert.equal((await store.claim(challenge, start + CLAIM_LEASE_SECONDS - 1)).kind, 'busy')
    const takeover = claimed(await store.claim(challenge, start + CLAIM_LEASE_SECONDS))
    await vanished.release()
    await vanished.consume()
    assert.equal((await store.claim(challenge, start + CLAIM_LEASE_SECONDS)).kind, 'busy', 'still held by the takeover')
    await takeover.consume()
    assert.deepEqual(await raw.get(challenge), { spent: true, exp: record.exp })
  }),

  storeCase('proof replay cache: a proof key is new once, then seen until its window ends; the record holds only that end', async (store, raw) => {
    const key = freshProofKey()
    const until = now() + 60
    assert.equal(await store.rememberProof(key, until, now()), 'new')
    assert.deepEqual(await raw.getProof(key), { proof: true, exp: until })
    assert.equal(await store.rememberProof(key, until, now()), 'seen')
    assert.equal(await store.rememberProof(key, until + 30, now() + 10), 'seen', 'a later window does not renew it')
    assert.deepEqual(await raw.getProof(key), { proof: true, exp: until }, 'a seen key is left as it is')
    const other = freshProofKey()
    assert.equal(await store.rememberProof(other, until, now()), 'new', 'another proof is its own key')
    assert.equal(await raw.get(key), null, 'not a flow key')
    assert.equal(await raw.getDevice(key), null, 'not a device key')
  }),

  storeCase('proof replay cache: of ten uses of one proof at once, exactly one is new', async (store) => {
    for (let round = 0; round < 3; round++) {
      const key = freshProofKey()
      const uses = await Promise.all(Array.from({ length: 10 }, () => store.rememberProof(key, now() + 60, now())))
      assert.equal(uses.filter((use) => use === 'new').length, 1, `round ${round}: ${uses.join(' ')}`)
    }
  }),

  storeCase('proof replay cache: a key that is not a 43-character hash is never stored', async (store) => {
    for (const key of ['', 'short', `${freshProofKey()}x`, '../flow:abcdefghijklmnopqrstuvwxyz0123456789', 'a'.repeat(42) + '=']) {
      await assert.rejects(store.rememberProof(key, now() + 60, now()), RangeError, key)
    }
  }),
]
