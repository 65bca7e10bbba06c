/**
 * @module
 * {@link CodeStore} on Workers KV, the default on Workers. KV is eventually consistent and has no
 * conditional write, so this store does what it can and docs/security.md says what remains:
 * - A confirmation or a result is a read, then a write. Writes to one flow in one isolate are
 *   single-flight: each decides on what this isolate decided to write last, so of ten racing
 *   callbacks one writes and nine find its code. Writes racing in different isolates or
 *   locations (or within one location's read cache) can both find the same value and both
 *   write; the last write wins.
 * - The confirmation has its own key, because KV takes at most one write a second per key and
 *   Unity often sends the browser back sooner than that after a Continue.
 * - A claim is a read. Pickups in one isolate are single-flight: while one holds a code, the
 *   others answer `busy`. Pickups in other isolates or locations can still read the same code;
 *   Unity accepts it only once (RFC 6749 §4.1.2), so at most one of them gets tokens.
 * - A missing key is cached per location for about 60 s, so a poll can miss a fresh record.
 * - The DPoP replay cache is a read, then a write. One isolate never accepts a proof twice (it
 *   remembers each proof it accepted until the proof's window ends); a replay sent at the same
 *   moment to another isolate or location can be accepted too, within KV's propagation delay.
 * - Refresh grants are not rotated: with no conditional write, two locations could each see the
 *   same generation as current, so reuse detection would revoke honest apps or miss thieves. A
 *   refresh reads `grant:<grant id>` and checks only its expiry and revoked flag (best effort: a
 *   revocation reaches every location within about 60 s), then asks Unity; it writes nothing.
 */
import { RelayError } from '../errors.ts'
import { assertProofKey, assertUserCode, CLAIM_LEASE_SECONDS, KV_MIN_EXPIRATION_TTL_SECONDS, parseDeviceRecord, ttlUntil, USER_CODE_PATTERN } from '../store.ts'
import type { CodeStore, DeviceRecord, FlowRecord, FlowWriteResult, Pickup, ProofRecord, ProofUse, SaveCondition, SaveResult } from '../store.ts'
import { beginPickup, decideWrite, newLeaseId, parseStoredFlow, spentRecord } from './flow-state.ts'
import type { FlowWrite, Lease, StoredFlow } from './flow-state.ts'
import { decideRefresh, parseGrantRecord, revokedRecord } from './grant-state.ts'
import type { GrantAnswer, GrantRecord, GrantRefresh, GrantRule } from './grant-state.ts'

/** Every flow key is this prefix followed by the PKCE `code_challenge`. */
export const WORKERS_KV_KEY_PREFIX = 'flow:'

/** Every confirmation key is this prefix followed by the PKCE `code_challenge`. */
export const WORKERS_KV_CONFIRMED_PREFIX = 'confirmed:'

/** Every device key is this prefix followed by the user code. */
export const WORKERS_KV_DEVICE_PREFIX = 'device:'

/** Every DPoP replay-cache key is this prefix followed by the proof key. */
export const WORKERS_KV_PROOF_PREFIX = 'proof:'

/** Every grant key is this prefix followed by the grant id. */
export const WORKERS_KV_GRANT_PREFIX = 'grant:'

/**
 * Flow keys claimed in this isolate, with their lease: the single flight that keeps one isolate to
 * one Unity call. The lease ends it even if a holder never finishes (e.g. its request was cancelled).
 */
const claimedInThisIsolate = new Map<string, Lease>()

/** The writes to one flow running in this isolate. */
interface WriteFlight {
  /** How many are running. */
  running: number
  /** What this isolate last decided to write for the flow; newer than any read still on its way. */
  value?: StoredFlow
  /** Milliseconds: after this the flight is ignored, even if a write never finished (its request was cancelled). */
  readonly until: number
}

/**
 * Challenges with a confirmation or a result being written in this isolate: the single flight
 * that keeps one isolate from writing two results for one flow. It holds plain values only, as
 * workerd lets no request wait on another's I/O.
 */
const writesInThisIsolate = new Map<string, WriteFlight>()

/**
 * Proof keys this isolate accepted, with the Unix second their window ends: a replay reaching
 * the same isolate is refused even before KV would show the first use.
 */
const proofsInThisIsolate = new Map<string, number>()

/** Past this many remembered proofs, the ones whose window has ended are dropped. */
const PROOFS_PRUNE_AT = 1000

/** How long a write flight can hold a key, like a claim's lease. */
const WRITE_FLIGHT_MS = CLAIM_LEASE_SECONDS * 1000

/** Stores records in a Workers KV namespace under `flow:<code_challenge>`, `confirmed:<code_challenge>`, `device:<user_code>` and `grant:<grant id>`. */
export class WorkersKvCodeStore implements CodeStore {
  readonly #kv: KVNamespace
  readonly #clock: () => number
  readonly rotation = 'unenforced'

  /**
   * `clock` (milliseconds, like `Date.now`) times the write flights.
   *
   * @throws {RelayError} `misconfigured` when the binding is missing.
   */
  constructor(kv: KVNamespace | undefined, bindingName = 'AUTH_CODES', clock: () => number = Date.now) {
    if (!kv) throw new RelayError('misconfigured', `Check the relay's settings: the KV binding ${bindingName} is missing.`)
    this.#kv = kv
    this.#clock = clock
  }

  confirm(challenge: string, binding: string, exp: number, ttlSeconds: number): Promise<FlowWriteResult> {
    return this.#writeFlow(challenge, { kind: 'confirm', binding, exp }, ttlSeconds)
  }

  save(challenge: string, record: FlowRecord, ttlSeconds: number, condition: SaveCondition): Promise<FlowWriteResult> {
    return this.#writeFlow(challenge, { kind: 'save', record, condition }, ttlSeconds)
  }

  async claim(challenge: string, nowSeconds: number): Promise<Pickup> {
    const key = WORKERS_KV_KEY_PREFIX + challenge
    if (heldInThisIsolate(key, nowSeconds)) return { kind: 'busy' }
    const step = beginPickup(parseStoredFlow(await this.#kv.get(key, 'json')), nowSeconds, newLeaseId())
    if (step.kind !== 'claimed') return step
    // Checked again after the read: another pickup in this isolate may have claimed it meanwhile.
    if (heldInThisIsolate(key, nowSeconds)) return { kind: 'busy' }
    const { record, held } = step
    claimedInThisIsolate.set(key, held.lease)
    const endFlight = () => {
      if (claimedInThisIsolate.get(key)?.id === held.lease.id) claimedInThisIsolate.delete(key)
    }
    return {
      kind: 'claimed',
      claim: {
        record,
        consume: async () => {
          try {
            await this.#kv.put(key, JSON.stringify(spentRecord(record)), { expirationTtl: ttlUntil(record.exp, nowSeconds) })
          } finally {
            endFlight()
          }
        },
        // Nothing was written for the claim, so the code is still in KV for the retry.
        release: async () => endFlight(),
      },
    }
  }

  async saveDevice(userCode: string, record: DeviceRecord, ttlSeconds: number): Promise<SaveResult> {
    assertUserCode(userCode)
    return this.#createOnce(WORKERS_KV_DEVICE_PREFIX + userCode, record, ttlSeconds)
  }

  async findDevice(userCode: string, nowSeconds: number): Promise<DeviceRecord | null> {
    if (!USER_CODE_PATTERN.test(userCode)) return null
    const record = parseDeviceRecord(await this.#kv.get(WORKERS_KV_DEVICE_PREFIX + userCode, 'json'))
    return record && record.exp > nowSeconds ? record : null
  }

  async startGrant(grantId: string, record: GrantRecord, nowSeconds: number): Promise<void> {
    await this.#kv.put(WORKERS_KV_GRANT_PREFIX + grantId, JSON.stringify(record), { expirationTtl: ttlUntil(record.exp, nowSeconds) })
  }

  /** Expiry and revocation only: every generation of a live grant refreshes, each with its own Unity call. */
  async refreshGrant(grantId: string, _generation: number, rule: GrantRule, exchange: () => Promise<GrantAnswer>): Promise<GrantRefresh> {
    const stored = parseGrantRecord(await this.#kv.get(WORKERS_KV_GRANT_PREFIX + grantId, 'json'))
    // Decided as the record's own generation, so the only refusals are an ended or revoked grant.
    const step = decideRefresh(stored, stored?.generation ?? 0, rule)
    if (step.kind === 'refused') return step
    return { kind: 'answered', answer: await exchange() }
  }

  async revokeGrant(grantId: string, nowSeconds: number): Promise<void> {
    const key = WORKERS_KV_GRANT_PREFIX + grantId
    const stored = parseGrantRecord(await this.#kv.get(key, 'json'))
    if (!stored || stored.exp <= nowSeconds || stored.revoked) return
    await this.#kv.put(key, JSON.stringify(revokedRecord(stored)), { expirationTtl: ttlUntil(stored.exp, nowSeconds) })
  }

  /**
   * Best effort (RFC 9449 §11.1): the key is marked in this isolate before the read, with no
   * await in between, so of two uses reaching one isolate the second is `seen`.
   */
  async rememberProof(key: string, untilSeconds: number, nowSeconds: number): Promise<ProofUse> {
    assertProofKey(key)
    const known = proofsInThisIsolate.get(key)
    if (known !== undefined && known > nowSeconds) return 'seen'
    if (proofsInThisIsolate.size >= PROOFS_PRUNE_AT) {
      for (const [name, until] of proofsInThisIsolate) if (until <= nowSeconds) proofsInThisIsolate.delete(name)
    }
    proofsInThisIsolate.set(key, untilSeconds)
    try {
      if ((await this.#kv.get(WORKERS_KV_PROOF_PREFIX + key)) !== null) return 'seen'
      const record: ProofRecord = { proof: true, exp: untilSeconds }
      await this.#kv.put(WORKERS_KV_PROOF_PREFIX + key, JSON.stringify(record), { expirationTtl: ttlUntil(untilSeconds, nowSeconds) })
      return 'new'
    } catch (fault) {
      proofsInThisIsolate.delete(key)
      throw fault
    }
  }

  /**
   * Applies `decideWrite`: KV has no conditional put, so this is a read followed by a write, made
   * single-flight within the isolate. The flow's value is its result, else its confirmation.
   */
  async #writeFlow(challenge: string, write: FlowWrite, ttlSeconds: number): Promise<FlowWriteResult> {
    const now = this.#clock()
    let flight = writesInThisIsolate.get(challenge)
    if (flight === undefined || flight.until <= now) {
      flight = { running: 0, until: now + WRITE_FLIGHT_MS }
      writesInThisIsolate.set(challenge, flight)
    }
    flight.running++
    try {
      const read = flight.value ?? (await this.#readFlow(challenge))
      // Another write in this isolate may have decided while the read was on its way: its value is the newer one.
      const step = decideWrite(flight.value ?? read, write)
      if (step.kind === 'answer') return step.result
      // Decided before the put, with no await in between: every later write in this isolate decides on this value.
      const before = flight.value
      flight.value = step.value
      try {
        const key = ('confirmed' in step.value ? WORKERS_KV_CONFIRMED_PREFIX : WORKERS_KV_KEY_PREFIX) + challenge
        await this.#kv.put(key, JSON.stringify(step.value), { expirationTtl: Math.max(ttlSeconds, KV_MIN_EXPIRATION_TTL_SECONDS) })
      } catch (fault) {
        flight.value = before
        throw fault
      }
      return 'created'
    } finally {
      flight.running--
      if (flight.running === 0 && writesInThisIsolate.get(challenge) === flight) writesInThisIsolate.delete(challenge)
    }
  }

  async #readFlow(challenge: string): Promise<StoredFlow | null> {
    const [result, confirmation] = await Promise.all([
      this.#kv.get(WORKERS_KV_KEY_PREFIX + challenge, 'json'),
      this.#kv.get(WORKERS_KV_CONFIRMED_PREFIX + challenge, 'json'),
    ])
    const confirmed = parseStoredFlow(confirmation)
    return parseStoredFlow(result) ?? (confirmed && 'confirmed' in confirmed ? confirmed : null)
  }

  /** Best-effort create-only: KV has no conditional put, so this is a read followed by a write. */
  async #createOnce(key: string, value: DeviceRecord, ttlSeconds: number): Promise<SaveResult> {
    if ((await this.#kv.get(key)) !== null) return 'exists'
    await this.#kv.put(key, JSON.stringify(value), { expirationTtl: Math.max(ttlSeconds, KV_MIN_EXPIRATION_TTL_SECONDS) })
    return 'created'
  }
}

function heldInThisIsolate(key: string, nowSeconds: number): boolean {
  const lease = claimedInThisIsolate.get(key)
  return lease !== undefined && lease.until > nowSeconds
}
