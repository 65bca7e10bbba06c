/**
 * @module
 * {@link CodeStore} on Durable Objects: one `AuthFlows` object per record key, found with
 * `idFromName`, so records never share an object and no object becomes a bottleneck. Each
 * object is strongly consistent and applies every step atomically (see `flow-object.ts`), so
 * a flow keeps its first result, only after its own Continue, and exactly one pickup exchanges a code.
 */
import { RelayError } from '../errors.ts'
import { assertProofKey, assertUserCode, USER_CODE_PATTERN } from '../store.ts'
import type { CodeStore, DeviceRecord, FlowRecord, FlowWriteResult, Pickup, ProofUse, ResultWait, ResultWaitOptions, SaveCondition, SaveResult } from '../store.ts'
import { newLeaseId } from './flow-state.ts'
import { LOST_ANSWER } from './grant-state.ts'
import type { GrantAnswer, GrantRecord, GrantRefresh, GrantRule } from './grant-state.ts'
import type { FlowObjectApi } from './flow-object.ts'

/** Object names: this prefix followed by the PKCE `code_challenge`. */
export const DURABLE_OBJECT_FLOW_PREFIX = 'flow:'

/** Object names: this prefix followed by the user code. */
export const DURABLE_OBJECT_DEVICE_PREFIX = 'device:'

/** Object names: this prefix followed by the DPoP proof key. */
export const DURABLE_OBJECT_PROOF_PREFIX = 'proof:'

/** Object names: this prefix followed by the grant id. One object per grant serialises its refreshes. */
export const DURABLE_OBJECT_GRANT_PREFIX = 'grant:'

/** The part of a `DurableObjectNamespace` binding the store uses. */
export interface FlowObjectNamespace<Id> {
  idFromName(name: string): Id
  get(id: Id): FlowObjectApi
}

/** Stores each record in its own `AuthFlows` Durable Object, named `flow:<challenge>`, `device:<user_code>` or `proof:<proof key>`. */
export class DurableObjectCodeStore<Id> implements CodeStore {
  readonly #objects: FlowObjectNamespace<Id>
  readonly rotation = 'enforced'
  readonly holds = 'yes'

  /** @throws {RelayError} `misconfigured` when the binding is missing. */
  constructor(objects: FlowObjectNamespace<Id> | undefined, bindingName = 'AUTH_FLOWS') {
    if (!objects) {
      throw new RelayError('misconfigured', `Check the relay's settings: CODE_STORE is durable-object but the Durable Object binding ${bindingName} is missing.`)
    }
    this.#objects = objects
  }

  /** The object's alarm removes the confirmation at `exp`, so `ttlSeconds` is already in `exp`. */
  confirm(challenge: string, binding: string, exp: number, _ttlSeconds: number): Promise<FlowWriteResult> {
    return this.#object(DURABLE_OBJECT_FLOW_PREFIX + challenge).write({ kind: 'confirm', binding, exp })
  }

  /** The object's alarm removes the record at `exp`, so `ttlSeconds` is already in `record.exp`. */
  save(challenge: string, record: FlowRecord, _ttlSeconds: number, condition: SaveCondition): Promise<FlowWriteResult> {
    return this.#object(DURABLE_OBJECT_FLOW_PREFIX + challenge).write({ kind: 'save', record, condition })
  }

  finished(challenge: string, nowSeconds: number): Promise<boolean> {
    return this.#object(DURABLE_OBJECT_FLOW_PREFIX + challenge).finished(nowSeconds)
  }

  async claim(challenge: string, nowSeconds: number): Promise<Pickup> {
    const object = this.#object(DURABLE_OBJECT_FLOW_PREFIX + challenge)
    const leaseId = newLeaseId()
    const step = await object.beginPickup(nowSeconds, leaseId)
    if (step.kind !== 'claimed') return step
    return {
      kind: 'claimed',
      claim: {
        record: step.record,
        consume: (trace) => object.finishPickup(leaseId, 'consume', trace),
        release: () => object.finishPickup(leaseId, 'release'),
      },
    }
  }

  /**
   * The flow's object holds the wait; a client that goes away ends it there too, before this
   * resolves. This side ends it after `waitMs` as well, so a slow or unreachable object cannot
   * hold the request longer than asked.
   */
  waitForResult(challenge: string, { nowSeconds, waitMs, signal }: ResultWaitOptions): Promise<ResultWait> {
    if (signal.aborted) return Promise.resolve('ended')
    const object = this.#object(DURABLE_OBJECT_FLOW_PREFIX + challenge)
    const waitId = newLeaseId()
    const waited = object.waitForResult(nowSeconds, waitMs, waitId)
    return new Promise<ResultWait>((resolve, reject) => {
      const stop = () => object.stopWaiting(waitId).catch(() => {})
      const abort = () => void stop().then(() => resolve('ended'))
      const timer = setTimeout(() => {
        void stop()
        resolve('ended')
      }, waitMs)
      signal.addEventListener('abort', abort, { once: true })
      waited.then(resolve, reject).finally(() => {
        clearTimeout(timer)
        signal.removeEventListener('abort', abort)
      })
    })
  }

  async saveDevice(userCode: string, record: DeviceRecord, _ttlSeconds: number): Promise<SaveResult> {
    assertUserCode(userCode)
    return this.#object(DURABLE_OBJECT_DEVICE_PREFIX + userCode).create(record)
  }

  async findDevice(userCode: string, nowSeconds: number): Promise<DeviceRecord | null> {
    // A malformed code never creates an object.
    if (!USER_CODE_PATTERN.test(userCode)) return null
    const record = await this.#object(DURABLE_OBJECT_DEVICE_PREFIX + userCode).readDevice()
    return record && record.exp > nowSeconds ? record : null
  }

  /** Exact: the proof's own object is create-only, and its alarm removes it at `untilSeconds`. */
  async rememberProof(key: string, untilSeconds: number, _nowSeconds: number): Promise<ProofUse> {
    assertProofKey(key)
    return this.#object(DURABLE_OBJECT_PROOF_PREFIX + key).rememberProof(untilSeconds)
  }

  /** The object's alarm removes the record at `record.exp`. */
  async startGrant(grantId: string, record: GrantRecord, _nowSeconds: number): Promise<void> {
    await this.#object(DURABLE_OBJECT_GRANT_PREFIX + grantId).startGrant(record)
  }

  /** The grant's object decides and hands out a lease; this Worker asks Unity and reports back. */
  async refreshGrant(grantId: string, generation: number, rule: GrantRule, exchange: () => Promise<GrantAnswer>): Promise<GrantRefresh> {
    const object = this.#object(DURABLE_OBJECT_GRANT_PREFIX + grantId)
    const leaseId = newLeaseId()
    const step = await object.beginRefresh(generation, rule, leaseId)
    if (step.kind !== 'lease') return step
    let answer: GrantAnswer
    try {
      answer = await exchange()
    } catch (fault) {
      await object.finishRefresh(leaseId, LOST_ANSWER).catch(() => {})
      throw fault
    }
    return { kind: 'answered', answer: await object.finishRefresh(leaseId, answer) }
  }

  async revokeGrant(grantId: string, nowSeconds: number): Promise<void> {
    await this.#object(DURABLE_OBJECT_GRANT_PREFIX + grantId).revokeGrant(nowSeconds)
  }

  #object(name: string): FlowObjectApi {
    return this.#objects.get(this.#objects.idFromName(name))
  }
}
