/**
 * @module
 * Contract of the store itself, below HTTP: create-only saves, claims, tombstones and device
 * records, read back from the real backend. Every runtime runs these on each of its stores.
 */
import { strict as assert } from 'node:assert'
import { CLAIM_LEASE_SECONDS } from '../../src/store.ts'
import type { CodeRecord, CodeStore, Pickup } from '../../src/store.ts'
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

/** A user code no other case uses: 8 uppercase letters. */
function freshUserCode(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(8)), (byte) => String.fromCharCode(65 + (byte % 26))).join('')
}

const now = () => Math.floor(Date.now() / 1000)

function codeRecord(code: string, exp = now() + 120): CodeRecord {
  return { code, redirect_uri: 'https://relay.example.com/callback', exp }
}

function claimed(pickup: Pickup) {
  assert.equal(pickup.kind, 'claimed', JSON.stringify(pickup))
  if (pickup.kind !== 'claimed') throw new Error('unreachable')
  return pickup.claim
}

export const storeCases: readonly ContractCase[] = [
  storeCase('save is create-only: the first record stays', async (store, raw) => {
    const challenge = freshChallenge()
    const first = codeRecord('first')
    assert.equal(await store.save(challenge, first, 120), 'created')
    assert.equal(await store.save(challenge, codeRecord('second'), 120), 'exists')
    assert.equal(await store.save(challenge, { error: 'access_denied', exp: first.exp }, 120), 'exists')
    assert.deepEqual(await raw.get(challenge), first)
  }),

  storeCase('a claim holds the code; the other pickup is busy; consume leaves a tombstone until exp', async (store, raw) => {
    const challenge = freshChallenge()
    const record = codeRecord('the-code')
    assert.equal((await store.claim(challenge, now())).kind, 'pending')
    await store.save(challenge, record, 120)
    const pickups = await Promise.all([store.claim(challenge, now()), store.claim(challenge, now())])
    assert.deepEqual(pickups.map((pickup) => pickup.kind).sort(), ['busy', 'claimed'])
    const claim = claimed(pickups.find((pickup) => pickup.kind === 'claimed') ?? { kind: 'pending' })
    assert.deepEqual(claim.record, record)
    assert.equal((await store.claim(challenge, now())).kind, 'busy')
    await claim.consume()
    assert.deepEqual(await raw.get(challenge), { spent: true, exp: record.exp })
    assert.equal((await store.claim(challenge, now())).kind, 'spent')
    assert.equal((await store.claim(challenge, record.exp)).kind, 'pending', 'the tombstone ends at exp')
    assert.equal(await store.save(challenge, codeRecord('late'), 120), 'exists', 'a tombstone blocks a new record')
  }),

  storeCase('release makes the code available to the retry, unchanged', async (store, raw) => {
    const challenge = freshChallenge()
    const record = codeRecord('the-code')
    await store.save(challenge, record, 120)
    await claimed(await store.claim(challenge, now())).release()
    assert.deepEqual(await raw.get(challenge), record)
    const retry = claimed(await store.claim(challenge, now()))
    assert.deepEqual(retry.record, record)
    await retry.consume()
  }),

  storeCase('an error record answers every pickup until exp and is never claimed', async (store) => {
    const challenge = freshChallenge()
    const exp = now() + 120
    await store.save(challenge, { error: 'access_denied', exp }, 120)
    for (let poll = 0; poll < 3; poll++) assert.deepEqual(await store.claim(challenge, now()), { kind: 'refused', error: 'access_denied' })
    assert.equal((await store.claim(challenge, exp)).kind, 'pending')
  }),

  storeCase('an expired code still held by the backend is not claimed', async (store, raw) => {
    const challenge = freshChallenge()
    const record = codeRecord('the-code', now() + 60)
    await store.save(challenge, record, 60)
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
    for (const userCode of ['ABCD-EFGH', 'abcdefgh', 'ABCDEFG', 'ABCDEFGHI', '', '../flow:x']) {
      assert.equal(await store.findDevice(userCode, now()), null, userCode)
      await assert.rejects(store.saveDevice(userCode, record, 600), RangeError, userCode)
    }
  }),

  storeCase('a claim whose holder vanished is taken over after the lease, and the old holder cannot end it', async (store, raw) => {
    const challenge = freshChallenge()
    const record = codeRecord('the-code')
    await store.save(challenge, record, 120)
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
]
