/**
 * @module
 * The life of a flow record, shared by every backend: what is stored at each step and how a
 * pickup moves it on. Backends differ only in how atomically they apply these steps.
 *
 * ```
 * (none) ──confirm──▶ confirmed ──save──▶ code ──claim──▶ held code ──consume──▶ spent
 *    │                    │                 ▲                 │
 *    │                    │                 └─────release─────┘
 *    │                    └──save──▶ error
 *    └──save (Cancel)───────────▶ error
 * ```
 *
 * Each value is dropped at its `exp`, and the flow is (none) again. A result (`save`) replaces
 * only the confirmation of the browser it came from; only a Cancel may end a flow with nothing
 * stored. Nothing replaces a result.
 */
import { AUTHORIZATION_ERRORS, CLAIM_LEASE_SECONDS } from '../store.ts'
import type { AppBinding, AuthorizationError, CodeRecord, ConfirmationRecord, ErrorRecord, FlowRecord, FlowWriteResult, SaveCondition, SpentTrace } from '../store.ts'

/** Who holds a claimed code, and until when (Unix seconds). */
export interface Lease {
  readonly id: string
  readonly until: number
}

/** A code that one pickup is exchanging right now. */
export interface HeldCodeRecord extends CodeRecord {
  readonly lease: Lease
}

/** What is left of a flow after its final answer: enough to say "already picked up", no secret. */
export interface SpentRecord {
  readonly spent: true
  /** The original record's `exp`. */
  readonly exp: number
  /** A standard flow's: its relay code's hash, and the grant its exchange started. */
  readonly code_hash?: string
  readonly grant?: string
}

/** Any value a backend keeps under a flow key. */
export type StoredFlow = ConfirmationRecord | CodeRecord | HeldCodeRecord | ErrorRecord | SpentRecord

/** A write whose outcome depends on what the flow holds: a Continue, or a result. */
export type FlowWrite =
  | { readonly kind: 'confirm'; readonly binding: string; readonly exp: number }
  | { readonly kind: 'save'; readonly record: FlowRecord; readonly condition: SaveCondition }

/** What a backend does for a {@link FlowWrite}: write `value` (conditionally, where it can) and answer `created`, or only answer. */
export type WriteStep =
  | { readonly kind: 'write'; readonly value: ConfirmationRecord | FlowRecord }
  | { readonly kind: 'answer'; readonly result: FlowWriteResult }

/** What a pickup does with the stored value. */
export type PickupStep =
  | { readonly kind: 'pending' | 'busy' }
  | { readonly kind: 'spent'; readonly trace?: SpentTrace }
  | { readonly kind: 'refused'; readonly error: AuthorizationError; readonly cancelled?: true }
  /** Write `held` (conditionally, where the backend can) and exchange `record`. */
  | { readonly kind: 'claimed'; readonly record: CodeRecord; readonly held: HeldCodeRecord }

/** Parses a stored flow value, rejecting anything that is not well-formed. */
export function parseStoredFlow(value: unknown): StoredFlow | null {
  if (typeof value !== 'object' || value === null) return null
  const stored = value as Record<string, unknown>
  if (typeof stored.exp !== 'number') return null
  const exp = stored.exp
  if (stored.spent === true) {
    if (typeof stored.code_hash !== 'string') return { spent: true, exp }
    return { spent: true, exp, code_hash: stored.code_hash, ...(typeof stored.grant === 'string' ? { grant: stored.grant } : {}) }
  }
  if (typeof stored.confirmed === 'string') return { confirmed: stored.confirmed, exp }
  if (typeof stored.error === 'string' && (AUTHORIZATION_ERRORS as readonly string[]).includes(stored.error)) {
    return { error: stored.error as AuthorizationError, exp, ...(stored.cancelled === true ? { cancelled: true } : {}) }
  }
  if (typeof stored.code !== 'string' || typeof stored.redirect_uri !== 'string') return null
  const app = parseAppBinding(stored.app)
  if (app === null) return null
  const record: CodeRecord = { code: stored.code, redirect_uri: stored.redirect_uri, exp, ...(app ? { app } : {}) }
  const lease = parseLease(stored.lease)
  return lease ? { ...record, lease } : record
}

/**
 * Whether the flow holds a live result at `nowSeconds` (a code, held or not, an error or a
 * tombstone): its sign-in is over, and a held pickup has something to pick up. Nothing, an expired
 * value or a bare confirmation is still pending.
 */
export function holdsResult(stored: StoredFlow | null, nowSeconds: number): boolean {
  return stored !== null && stored.exp > nowSeconds && !('confirmed' in stored)
}

/** Decides a pickup at `nowSeconds`: a live, unheld code (or one whose lease ran out) is claimed under `leaseId`. */
export function beginPickup(stored: StoredFlow | null, nowSeconds: number, leaseId: string): PickupStep {
  // KV expiry is lazy, so `exp` is checked on every read.
  if (!stored || stored.exp <= nowSeconds || 'confirmed' in stored) return { kind: 'pending' }
  if ('spent' in stored) return stored.code_hash === undefined ? { kind: 'spent' } : { kind: 'spent', trace: spentTrace(stored.code_hash, stored.grant) }
  if ('error' in stored) return { kind: 'refused', error: stored.error, ...(stored.cancelled ? { cancelled: true } : {}) }
  if ('lease' in stored && stored.lease.until > nowSeconds) return { kind: 'busy' }
  const record = codeRecord(stored)
  return { kind: 'claimed', record, held: { ...record, lease: { id: leaseId, until: nowSeconds + CLAIM_LEASE_SECONDS } } }
}

/**
 * Decides a write against the stored value. A Continue is create-only, but the same browser
 * pressing it again (a double submit, the back button) succeeds without a write. A result
 * replaces only its own browser's confirmation, or with `unconfirmed: 'allow'` (a Cancel) an
 * empty flow; once a flow holds a result, nothing replaces it.
 */
export function decideWrite(stored: StoredFlow | null, write: FlowWrite): WriteStep {
  // The first result of a flow is kept: a second callback or a late Cancel must not replace it.
  if (stored !== null && !('confirmed' in stored)) return { kind: 'answer', result: 'exists' }
  if (write.kind === 'confirm') {
    if (stored === null) return { kind: 'write', value: { confirmed: write.binding, exp: write.exp } }
    return { kind: 'answer', result: stored.confirmed === write.binding ? 'created' : 'elsewhere' }
  }
  // RFC 9700 §4.5 (code injection): without PKCE at Unity a code is bound to no flow, so a result
  // is taken only for a state whose own Continue was pressed, never for a state and cookie alone.
  if (stored === null) return write.condition.unconfirmed === 'allow' ? { kind: 'write', value: write.record } : { kind: 'answer', result: 'unconfirmed' }
  return stored.confirmed === write.condition.binding ? { kind: 'write', value: write.record } : { kind: 'answer', result: 'elsewhere' }
}

/**
 * What ends a claim: the tombstone on `consume`, the bare code on `release`; `null` when the
 * stored value is no longer this lease's (it ran out and another pickup took over).
 */
export function finishPickup(stored: StoredFlow | null, leaseId: string, how: 'consume' | 'release', trace?: SpentTrace): StoredFlow | null {
  if (!stored || !('lease' in stored) || stored.lease.id !== leaseId) return null
  return how === 'consume' ? spentRecord(stored, trace) : codeRecord(stored)
}

/** The tombstone that replaces a record after its final answer, with a standard flow's `trace`. */
export function spentRecord(record: FlowRecord, trace?: SpentTrace): SpentRecord {
  if (trace === undefined) return { spent: true, exp: record.exp }
  return { spent: true, exp: record.exp, code_hash: trace.code_hash, ...(trace.grant === undefined ? {} : { grant: trace.grant }) }
}

/** A code record without its lease. */
function codeRecord(stored: CodeRecord): CodeRecord {
  const record: CodeRecord = { code: stored.code, redirect_uri: stored.redirect_uri, exp: stored.exp }
  return stored.app === undefined ? record : { ...record, app: stored.app }
}

function spentTrace(codeHash: string, grant: string | undefined): SpentTrace {
  return grant === undefined ? { code_hash: codeHash } : { code_hash: codeHash, grant }
}

/** `undefined` for a pickup's record (no binding), `null` for a malformed one. */
function parseAppBinding(value: unknown): AppBinding | null | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null) return null
  const app = value as Record<string, unknown>
  if (typeof app.code_hash !== 'string' || typeof app.client_id !== 'string' || typeof app.redirect_uri !== 'string') return null
  return { code_hash: app.code_hash, client_id: app.client_id, redirect_uri: app.redirect_uri }
}

/** A fresh lease id: unguessable, so no other pickup can finish this one's claim. */
export function newLeaseId(): string {
  return crypto.randomUUID()
}

function parseLease(value: unknown): Lease | null {
  if (typeof value !== 'object' || value === null) return null
  const lease = value as Record<string, unknown>
  return typeof lease.id === 'string' && typeof lease.until === 'number' ? { id: lease.id, until: lease.until } : null
}
