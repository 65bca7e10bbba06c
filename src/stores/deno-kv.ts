/**
 * @module
 * {@link CodeStore} on Deno KV. Reads are strongly consistent and every write that depends on a
 * read is an atomic operation checked against the version it read, so a flow keeps its first
 * result, only after its own Continue, and a code is handed to at most one token exchange at a time.
 * A held pickup watches its flow's key (`kv.watch`), so the write of the result wakes it.
 */
import { assertProofKey, assertUserCode, KV_MIN_EXPIRATION_TTL_SECONDS, parseDeviceRecord, ttlUntil, USER_CODE_PATTERN } from '../store.ts'
import type { CodeStore, DeviceRecord, FlowRecord, FlowWriteResult, Pickup, ProofRecord, ProofUse, ResultWait, ResultWaitOptions, SaveCondition, SaveResult } from '../store.ts'
import { beginPickup, decideWrite, holdsResult, newLeaseId, parseStoredFlow, spentRecord } from './flow-state.ts'
import type { FlowWrite, StoredFlow } from './flow-state.ts'
import { decideRefresh, GrantFlights, parseGrantRecord, revokedRecord, SUPERSEDED_ANSWER } from './grant-state.ts'
import type { GrantAnswer, GrantRecord, GrantRefresh, GrantRule } from './grant-state.ts'

/** Every flow key is this prefix followed by the PKCE `code_challenge`. */
export const DENO_KV_KEY_PREFIX = ['flow'] as const

/** Every device key is this prefix followed by the user code. */
export const DENO_KV_DEVICE_PREFIX = ['device'] as const

/** Every DPoP replay-cache key is this prefix followed by the proof key. */
export const DENO_KV_PROOF_PREFIX = ['proof'] as const

/** Every grant key is this prefix followed by the grant id. */
export const DENO_KV_GRANT_PREFIX = ['grant'] as const

type Key = readonly string[]

/** The part of an atomic operation the store uses; `Deno.AtomicOperation` fits. */
export interface DenoKvAtomic {
  check(...checks: { key: Key; versionstamp: string | null }[]): DenoKvAtomic
  set(key: Key, value: unknown, options?: { expireIn?: number }): DenoKvAtomic
  delete(key: Key): DenoKvAtomic
  commit(): Promise<{ ok: boolean; versionstamp?: string }>
}

/** One entry as `Deno.Kv` reads it. */
export interface DenoKvEntry {
  readonly value: unknown
  readonly versionstamp: string | null
}

/** The part of `Deno.Kv` the store uses, so this module type-checks without Deno's types. */
export interface DenoKv {
  get(key: Key): Promise<DenoKvEntry>
  set(key: Key, value: unknown, options?: { expireIn?: number }): Promise<unknown>
  atomic(): DenoKvAtomic
  /** Emits the keys' entries now and again after each change to any of them. */
  watch(keys: Key[]): ReadableStream<DenoKvEntry[]>
}

/**
 * Stores records in Deno KV under `['flow', <code_challenge>]`, `['device', <user_code>]`,
 * `['proof', <proof key>]` and `['grant', <grant id>]`. Concurrent refreshes of one generation share one Unity call within
 * this process (an in-memory single flight); across processes, the atomic commit lets one
 * rotation win and refuses the other's tokens, without revoking.
 *
 * @example
 * const store = new DenoKvCodeStore(await Deno.openKv(Deno.env.get('DENO_KV_PATH')))
 */
export class DenoKvCodeStore implements CodeStore {
  readonly #kv: DenoKv
  readonly #flights = new GrantFlights()
  readonly rotation = 'enforced'
  readonly holds = 'yes'

  constructor(kv: DenoKv) {
    this.#kv = kv
  }

  confirm(challenge: string, binding: string, exp: number, ttlSeconds: number): Promise<FlowWriteResult> {
    return this.#writeFlow([...DENO_KV_KEY_PREFIX, challenge], { kind: 'confirm', binding, exp }, ttlSeconds)
  }

  save(challenge: string, record: FlowRecord, ttlSeconds: number, condition: SaveCondition): Promise<FlowWriteResult> {
    return this.#writeFlow([...DENO_KV_KEY_PREFIX, challenge], { kind: 'save', record, condition }, ttlSeconds)
  }

  async finished(challenge: string, nowSeconds: number): Promise<boolean> {
    return holdsResult(parseStoredFlow((await this.#kv.get([...DENO_KV_KEY_PREFIX, challenge])).value), nowSeconds)
  }

  async claim(challenge: string, nowSeconds: number): Promise<Pickup> {
    const key = [...DENO_KV_KEY_PREFIX, challenge]
    const entry = await this.#kv.get(key)
    const step = beginPickup(parseStoredFlow(entry.value), nowSeconds, newLeaseId())
    if (step.kind !== 'claimed') return step
    // Only the pickup whose write commits against the version it read holds the code: one exchange at a time.
    const taken = await this.#setIfUnchanged(key, entry.versionstamp, step.held, nowSeconds)
    if (taken === null) return { kind: 'busy' }
    const { record } = step
    return {
      kind: 'claimed',
      claim: {
        record,
        // Both end the claim only if the held record is still this one (a newer value is never overwritten).
        consume: async (trace) => {
          await this.#setIfUnchanged(key, taken, spentRecord(record, trace), nowSeconds)
        },
        release: async () => {
          await this.#setIfUnchanged(key, taken, record, nowSeconds)
        },
      },
    }
  }

  /**
   * Watches the flow's key: its first emission is the value now, each later one follows a write,
   * so the wait needs no polling. The watch is cancelled when the wait ends.
   */
  async waitForResult(challenge: string, { nowSeconds, waitMs, signal }: ResultWaitOptions): Promise<ResultWait> {
    if (signal.aborted) return 'ended'
    const reader = this.#kv.watch([[...DENO_KV_KEY_PREFIX, challenge]]).getReader()
    const stop = () => {
      reader.cancel().catch(() => {})
    }
    const timer = setTimeout(stop, waitMs)
    signal.addEventListener('abort', stop, { once: true })
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return 'ended'
        if (holdsResult(parseStoredFlow(value[0]?.value), nowSeconds)) return 'stored'
      }
    } finally {
      clearTimeout(timer)
      signal.removeEventListener('abort', stop)
      stop()
    }
  }

  async saveDevice(userCode: string, record: DeviceRecord, ttlSeconds: number): Promise<SaveResult> {
    assertUserCode(userCode)
    return this.#createOnce([...DENO_KV_DEVICE_PREFIX, userCode], record, ttlSeconds)
  }

  async findDevice(userCode: string, nowSeconds: number): Promise<DeviceRecord | null> {
    if (!USER_CODE_PATTERN.test(userCode)) return null
    const record = parseDeviceRecord((await this.#kv.get([...DENO_KV_DEVICE_PREFIX, userCode])).value)
    // Deno KV expiry is lazy too: an expired entry can still be read.
    return record && record.exp > nowSeconds ? record : null
  }

  /** Exact: the commit succeeds only where no record exists (versionstamp null), so one use of a proof is `new`. */
  async rememberProof(key: string, untilSeconds: number, nowSeconds: number): Promise<ProofUse> {
    assertProofKey(key)
    const record: ProofRecord = { proof: true, exp: untilSeconds }
    const entry = [...DENO_KV_PROOF_PREFIX, key]
    const { ok } = await this.#kv.atomic().check({ key: entry, versionstamp: null }).set(entry, record, { expireIn: ttlUntil(untilSeconds, nowSeconds) * 1000 }).commit()
    return ok ? 'new' : 'seen'
  }

  async startGrant(grantId: string, record: GrantRecord, nowSeconds: number): Promise<void> {
    await this.#kv.set([...DENO_KV_GRANT_PREFIX, grantId], record, { expireIn: ttlUntil(record.exp, nowSeconds) * 1000 })
  }

  async refreshGrant(grantId: string, generation: number, rule: GrantRule, exchange: () => Promise<GrantAnswer>): Promise<GrantRefresh> {
    const key = [...DENO_KV_GRANT_PREFIX, grantId]
    const entry = await this.#kv.get(key)
    const step = decideRefresh(parseGrantRecord(entry.value), generation, rule)
    if (step.kind === 'refused') return step
    if (step.kind === 'revoke') {
      await this.revokeGrant(grantId, rule.nowSeconds)
      return { kind: 'refused', reason: 'reused' }
    }
    // No await between the read's decision, this lookup and `run`: a second refresh in this process finds the first.
    const joined = this.#flights.find(grantId, generation, rule.nowSeconds)
    if (joined) return { kind: 'answered', answer: await joined }
    if (step.kind === 'join') return { kind: 'refused', reason: 'superseded' }
    const answer = await this.#flights.run(grantId, generation, rule, async () => {
      const answered = await exchange()
      if (answered.kind !== 'tokens') return answered
      // The record moves only if nothing changed it since the read: a revocation or another process's rotation wins.
      const expireIn = ttlUntil(step.next.exp, rule.nowSeconds) * 1000
      const { ok } = await this.#kv.atomic().check({ key, versionstamp: entry.versionstamp }).set(key, step.next, { expireIn }).commit()
      return ok ? answered : SUPERSEDED_ANSWER
    })
    return { kind: 'answered', answer }
  }

  async revokeGrant(grantId: string, nowSeconds: number): Promise<void> {
    const key = [...DENO_KV_GRANT_PREFIX, grantId]
    this.#flights.forget(grantId)
    for (;;) {
      const entry = await this.#kv.get(key)
      const record = parseGrantRecord(entry.value)
      if (!record || record.exp <= nowSeconds || record.revoked) return
      const expireIn = ttlUntil(record.exp, nowSeconds) * 1000
      const { ok } = await this.#kv.atomic().check({ key, versionstamp: entry.versionstamp }).set(key, revokedRecord(record), { expireIn }).commit()
      if (ok) return
    }
  }

  /**
   * Applies `decideWrite` to the value read, committed only if the key is still at the version
   * read, so of two racing writes the second decides again on what the first left. A flow moves
   * only toward a result ((none) → confirmed → result), which ends the loop.
   */
  async #writeFlow(key: Key, write: FlowWrite, ttlSeconds: number): Promise<FlowWriteResult> {
    const expireIn = Math.max(ttlSeconds, KV_MIN_EXPIRATION_TTL_SECONDS) * 1000
    for (;;) {
      const entry = await this.#kv.get(key)
      const step = decideWrite(parseStoredFlow(entry.value), write)
      if (step.kind === 'answer') return step.result
      const { ok } = await this.#kv.atomic().check({ key, versionstamp: entry.versionstamp }).set(key, step.value, { expireIn }).commit()
      if (ok) return 'created'
    }
  }

  async #createOnce(key: Key, value: DeviceRecord, ttlSeconds: number): Promise<SaveResult> {
    const expireIn = Math.max(ttlSeconds, KV_MIN_EXPIRATION_TTL_SECONDS) * 1000
    // versionstamp null: the commit succeeds only if the key does not exist, so the first result wins.
    const { ok } = await this.#kv.atomic().check({ key, versionstamp: null }).set(key, value, { expireIn }).commit()
    return ok ? 'created' : 'exists'
  }

  /** Writes `value` if the key is still at `versionstamp`; returns the new versionstamp, or `null`. */
  async #setIfUnchanged(key: Key, versionstamp: string | null, value: StoredFlow, nowSeconds: number): Promise<string | null> {
    const expireIn = ttlUntil(value.exp, nowSeconds) * 1000
    const result = await this.#kv.atomic().check({ key, versionstamp }).set(key, value, { expireIn }).commit()
    return result.ok ? (result.versionstamp ?? null) : null
  }
}
