/**
 * @module
 * What runs inside the `AuthFlows` Durable Object, kept free of `cloudflare:*` imports: the
 * Workers entry's class only forwards to {@link FlowObject}. Each object holds exactly one record
 * (one flow, one device code or one DPoP proof of the replay cache). Every read-then-write below is synchronous on the object's
 * SQLite storage, with no `await` in between, so it is atomic: the object handles one request at
 * a time and no other request can run between the read and the write. A held pickup waits in
 * the flow's object, in memory only, and the write that stores the flow's result wakes it.
 */
import { CLAIM_LEASE_SECONDS, MAX_HELD_PICKUPS_PER_FLOW, parseDeviceRecord } from '../store.ts'
import type { CodeRecord, DeviceRecord, FlowWriteResult, ProofRecord, ProofUse, ResultWait, SaveResult, SpentTrace } from '../store.ts'
import { beginPickup, decideWrite, finishPickup, holdsResult, parseStoredFlow } from './flow-state.ts'
import type { FlowWrite, PickupStep } from './flow-state.ts'
import { decideRefresh, GrantFlights, LOST_ANSWER, parseGrantRecord, revokedRecord, SUPERSEDED_ANSWER } from './grant-state.ts'
import type { GrantAnswer, GrantRecord, GrantRefresh, GrantRule } from './grant-state.ts'

/** The single storage key inside each object. */
export const FLOW_OBJECT_RECORD_KEY = 'record'

/** The storage key of a grant's object (`grant:<grant id>`), which holds nothing else. */
export const GRANT_OBJECT_RECORD_KEY = 'grant'

/** What a grant's object answers a refresh: a refusal, a concurrent refresh's answer, or the lease to ask Unity. */
export type GrantObjectStep = GrantRefresh | { readonly kind: 'lease' }

/** The longest a pickup waits in an object, whatever it asks: a bound on the object's billed duration. */
export const MAX_OBJECT_WAIT_MS = 30_000

/** The part of a SQLite-backed `DurableObjectStorage` the object uses. */
export interface FlowObjectStorage {
  /** The synchronous key-value API of SQLite-backed objects. */
  readonly kv: {
    get(key: string): unknown
    put(key: string, value: unknown): void
  }
  setAlarm(scheduledTime: number): Promise<void>
  deleteAll(): Promise<void>
}

/** A pickup's outcome as it crosses the RPC boundary (the held record stays inside the object). */
export type FlowObjectPickup = Exclude<PickupStep, { kind: 'claimed' }> | { readonly kind: 'claimed'; readonly record: CodeRecord }

/** The object's RPC methods, as the relay's store calls them. */
export interface FlowObjectApi {
  create(record: DeviceRecord): Promise<SaveResult>
  write(write: FlowWrite): Promise<FlowWriteResult>
  readDevice(): Promise<DeviceRecord | null>
  finished(nowSeconds: number): Promise<boolean>
  beginPickup(nowSeconds: number, leaseId: string): Promise<FlowObjectPickup>
  finishPickup(leaseId: string, how: 'consume' | 'release', trace?: SpentTrace): Promise<void>
  waitForResult(nowSeconds: number, waitMs: number, waitId: string): Promise<ResultWait>
  stopWaiting(waitId: string): Promise<void>
  rememberProof(untilSeconds: number): Promise<ProofUse>
  startGrant(record: GrantRecord): Promise<void>
  beginRefresh(generation: number, rule: GrantRule, leaseId: string): Promise<GrantObjectStep>
  finishRefresh(leaseId: string, answer: GrantAnswer): Promise<GrantAnswer>
  revokeGrant(nowSeconds: number): Promise<void>
}

/** A refresh whose Unity call the Worker is making under a lease. */
interface Refresh {
  readonly next: GrantRecord
  readonly settle: (answer: GrantAnswer) => void
  readonly timer: ReturnType<typeof setTimeout>
}

/** A held pickup waiting in the object. */
interface Waiter {
  readonly wake: (outcome: ResultWait) => void
  readonly timer: ReturnType<typeof setTimeout>
}

/** One record's object: create-only device records, conditional flow writes, atomic claims, held pickups, and deletion by alarm at `exp`. */
export class FlowObject {
  readonly #storage: FlowObjectStorage
  /** Memory only: the held pickups of this flow, woken by the write of its result (an evicted object drops them, and their calls fail). */
  readonly #waiters = new Map<string, Waiter>()
  /** Memory only: the refreshes under way or just answered, for concurrent callers (nothing of them is stored). */
  readonly #flights = new GrantFlights()
  readonly #refreshes = new Map<string, Refresh>()

  constructor(storage: FlowObjectStorage) {
    this.#storage = storage
  }

  /** Stores a device record unless the object already holds one; schedules its deletion at `exp`. */
  async create(record: DeviceRecord): Promise<SaveResult> {
    if (this.#storage.kv.get(FLOW_OBJECT_RECORD_KEY) !== undefined) return 'exists'
    this.#storage.kv.put(FLOW_OBJECT_RECORD_KEY, record)
    await this.#storage.setAlarm(record.exp * 1000)
    return 'created'
  }

  /**
   * Applies a confirmation or a result as `decideWrite` says; a written value moves the alarm to
   * its `exp`, and a written result wakes every held pickup of the flow.
   */
  async write(write: FlowWrite): Promise<FlowWriteResult> {
    const step = decideWrite(parseStoredFlow(this.#storage.kv.get(FLOW_OBJECT_RECORD_KEY)), write)
    if (step.kind === 'answer') return step.result
    this.#storage.kv.put(FLOW_OBJECT_RECORD_KEY, step.value)
    await this.#storage.setAlarm(step.value.exp * 1000)
    if (write.kind === 'save') for (const waitId of [...this.#waiters.keys()]) this.#wake(waitId, 'stored')
    return 'created'
  }

  /**
   * Holds a pickup until this flow's result is written (`stored`), at once if it holds one,
   * or for `waitMs` at most (`ended`). No alarm and no polling: the write resolves the wait, and
   * one timer per wait ends it. At most {@link MAX_HELD_PICKUPS_PER_FLOW} wait at once (`full`).
   */
  waitForResult(nowSeconds: number, waitMs: number, waitId: string): ResultWait | Promise<ResultWait> {
    if (holdsResult(parseStoredFlow(this.#storage.kv.get(FLOW_OBJECT_RECORD_KEY)), nowSeconds)) return 'stored'
    if (this.#waiters.size >= MAX_HELD_PICKUPS_PER_FLOW || this.#waiters.has(waitId)) return 'full'
    return new Promise((wake) => {
      const timer = setTimeout(() => this.#wake(waitId, 'ended'), Math.min(Math.max(waitMs, 0), MAX_OBJECT_WAIT_MS))
      this.#waiters.set(waitId, { wake, timer })
    })
  }

  /** Ends the wait `waitId` (its client went away), so the object holds nothing for it. */
  stopWaiting(waitId: string): void {
    this.#wake(waitId, 'ended')
  }

  #wake(waitId: string, outcome: ResultWait): void {
    const waiter = this.#waiters.get(waitId)
    if (!waiter) return
    this.#waiters.delete(waitId)
    clearTimeout(waiter.timer)
    waiter.wake(outcome)
  }

  /** The device record, if this object holds one (expiry is checked by the caller's clock). */
  readDevice(): DeviceRecord | null {
    return parseDeviceRecord(this.#storage.kv.get(FLOW_OBJECT_RECORD_KEY))
  }

  /** Whether this flow holds a live result (a read only). */
  finished(nowSeconds: number): boolean {
    return holdsResult(parseStoredFlow(this.#storage.kv.get(FLOW_OBJECT_RECORD_KEY)), nowSeconds)
  }

  /** Claims a live code under `leaseId`, or says why not. */
  beginPickup(nowSeconds: number, leaseId: string): FlowObjectPickup {
    const step = beginPickup(parseStoredFlow(this.#storage.kv.get(FLOW_OBJECT_RECORD_KEY)), nowSeconds, leaseId)
    if (step.kind !== 'claimed') return step
    this.#storage.kv.put(FLOW_OBJECT_RECORD_KEY, step.held)
    return { kind: 'claimed', record: step.record }
  }

  /** Ends the claim `leaseId`: a tombstone (keeping a standard flow's `trace`) on `consume`, the code again on `release`. */
  finishPickup(leaseId: string, how: 'consume' | 'release', trace?: SpentTrace): void {
    const next = finishPickup(parseStoredFlow(this.#storage.kv.get(FLOW_OBJECT_RECORD_KEY)), leaseId, how, trace)
    if (next) this.#storage.kv.put(FLOW_OBJECT_RECORD_KEY, next)
  }

  /** The replay cache's create-only write: `seen` if this proof's object holds its record already. */
  async rememberProof(untilSeconds: number): Promise<ProofUse> {
    if (this.#storage.kv.get(FLOW_OBJECT_RECORD_KEY) !== undefined) return 'seen'
    const record: ProofRecord = { proof: true, exp: untilSeconds }
    this.#storage.kv.put(FLOW_OBJECT_RECORD_KEY, record)
    await this.#storage.setAlarm(untilSeconds * 1000)
    return 'new'
  }

  /** Starts a grant (an object named `grant:<grant id>`); the alarm forgets it at `exp`. */
  async startGrant(record: GrantRecord): Promise<void> {
    this.#storage.kv.put(GRANT_OBJECT_RECORD_KEY, record)
    await this.#storage.setAlarm(record.exp * 1000)
  }

  /**
   * Decides a refresh of `generation`. The Unity call happens in the Worker, under a lease that
   * `finishRefresh` ends: in here it would need the client secret, the sealing keys and Unity's
   * fetch, so the object would carry the whole relay; this way it holds one small record and its
   * rule. A second caller of the same generation (or of the previous one, within the grace) waits
   * here for the lease holder's answer, a plain value kept in memory for the grace window only,
   * so Unity is asked once.
   */
  async beginRefresh(generation: number, rule: GrantRule, leaseId: string): Promise<GrantObjectStep> {
    const step = decideRefresh(parseGrantRecord(this.#storage.kv.get(GRANT_OBJECT_RECORD_KEY)), generation, rule)
    if (step.kind === 'refused') return step
    if (step.kind === 'revoke') {
      this.#revoke(step.revoked)
      return { kind: 'refused', reason: 'reused' }
    }
    const joined = this.#flights.find('grant', generation, rule.nowSeconds)
    if (joined) return { kind: 'answered', answer: await joined }
    if (step.kind === 'join') return { kind: 'refused', reason: 'superseded' }
    void this.#flights.run('grant', generation, rule, () =>
      new Promise<GrantAnswer>((resolve) => {
        // A holder that never reports (its request was cancelled) must not strand the callers waiting on it.
        const timer = setTimeout(() => this.#settle(leaseId, LOST_ANSWER), CLAIM_LEASE_SECONDS * 1000)
        this.#refreshes.set(leaseId, { next: step.next, settle: resolve, timer })
      }),
    )
    return { kind: 'lease' }
  }

  /** The lease holder's answer: on tokens the record moves one generation up, if it is still where the lease found it. */
  finishRefresh(leaseId: string, answer: GrantAnswer): GrantAnswer {
    const refresh = this.#refreshes.get(leaseId)
    if (!refresh) return answer.kind === 'tokens' ? SUPERSEDED_ANSWER : answer
    let final = answer
    if (answer.kind === 'tokens') {
      const stored = parseGrantRecord(this.#storage.kv.get(GRANT_OBJECT_RECORD_KEY))
      if (stored && !stored.revoked && stored.generation === refresh.next.generation - 1) this.#storage.kv.put(GRANT_OBJECT_RECORD_KEY, refresh.next)
      else final = SUPERSEDED_ANSWER
    }
    this.#settle(leaseId, final)
    return final
  }

  /** Revokes the grant this object holds, if it is live. */
  revokeGrant(nowSeconds: number): void {
    const stored = parseGrantRecord(this.#storage.kv.get(GRANT_OBJECT_RECORD_KEY))
    if (stored && stored.exp > nowSeconds && !stored.revoked) this.#revoke(revokedRecord(stored))
  }

  #revoke(revoked: GrantRecord): void {
    this.#storage.kv.put(GRANT_OBJECT_RECORD_KEY, revoked)
    this.#flights.forget('grant')
  }

  #settle(leaseId: string, answer: GrantAnswer): void {
    const refresh = this.#refreshes.get(leaseId)
    if (!refresh) return
    this.#refreshes.delete(leaseId)
    clearTimeout(refresh.timer)
    refresh.settle(answer)
  }

  /** The alarm fires at the record's `exp`: the object forgets everything, alarm included. */
  async alarm(): Promise<void> {
    await this.#storage.deleteAll()
  }
}
