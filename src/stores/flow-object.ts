/**
 * @module
 * What runs inside the `AuthFlows` Durable Object, kept free of `cloudflare:*` imports: the
 * Workers entry's class only forwards to {@link FlowObject}. Each object holds exactly one record
 * (one flow, one device code or one DPoP proof of the replay cache). Every read-then-write below is synchronous on the object's
 * SQLite storage, with no `await` in between, so it is atomic: the object handles one request at
 * a time and no other request can run between the read and the write.
 */
import { parseDeviceRecord } from '../store.ts'
import type { CodeRecord, DeviceRecord, FlowWriteResult, ProofRecord, ProofUse, SaveResult } from '../store.ts'
import { beginPickup, decideWrite, finishPickup, parseStoredFlow } from './flow-state.ts'
import type { FlowWrite, PickupStep } from './flow-state.ts'

/** The single storage key inside each object. */
export const FLOW_OBJECT_RECORD_KEY = 'record'

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
  beginPickup(nowSeconds: number, leaseId: string): Promise<FlowObjectPickup>
  finishPickup(leaseId: string, how: 'consume' | 'release'): Promise<void>
  rememberProof(untilSeconds: number): Promise<ProofUse>
}

/** One record's object: create-only device records, conditional flow writes, atomic claims, and deletion by alarm at `exp`. */
export class FlowObject {
  readonly #storage: FlowObjectStorage

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

  /** Applies a confirmation or a result as `decideWrite` says; a written value moves the alarm to its `exp`. */
  async write(write: FlowWrite): Promise<FlowWriteResult> {
    const step = decideWrite(parseStoredFlow(this.#storage.kv.get(FLOW_OBJECT_RECORD_KEY)), write)
    if (step.kind === 'answer') return step.result
    this.#storage.kv.put(FLOW_OBJECT_RECORD_KEY, step.value)
    await this.#storage.setAlarm(step.value.exp * 1000)
    return 'created'
  }

  /** The device record, if this object holds one (expiry is checked by the caller's clock). */
  readDevice(): DeviceRecord | null {
    return parseDeviceRecord(this.#storage.kv.get(FLOW_OBJECT_RECORD_KEY))
  }

  /** Claims a live code under `leaseId`, or says why not. */
  beginPickup(nowSeconds: number, leaseId: string): FlowObjectPickup {
    const step = beginPickup(parseStoredFlow(this.#storage.kv.get(FLOW_OBJECT_RECORD_KEY)), nowSeconds, leaseId)
    if (step.kind !== 'claimed') return step
    this.#storage.kv.put(FLOW_OBJECT_RECORD_KEY, step.held)
    return { kind: 'claimed', record: step.record }
  }

  /** Ends the claim `leaseId`: a tombstone on `consume`, the code again on `release`. */
  finishPickup(leaseId: string, how: 'consume' | 'release'): void {
    const next = finishPickup(parseStoredFlow(this.#storage.kv.get(FLOW_OBJECT_RECORD_KEY)), leaseId, how)
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

  /** The alarm fires at the record's `exp`: the object forgets everything, alarm included. */
  async alarm(): Promise<void> {
    await this.#storage.deleteAll()
  }
}
