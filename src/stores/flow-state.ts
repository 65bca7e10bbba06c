/**
 * @module
 * The life of a flow record, shared by every backend: what is stored at each step and how a
 * pickup moves it on. Backends differ only in how atomically they apply these steps.
 *
 * ```
 * (none) ──save──▶ code ──claim──▶ held code ──consume──▶ spent ──exp──▶ (none)
 *                    ▲                  │
 *                    └─────release──────┘          error ──exp──▶ (none)
 * ```
 */
import { AUTHORIZATION_ERRORS, CLAIM_LEASE_SECONDS } from '../store.ts'
import type { AuthorizationError, CodeRecord, ErrorRecord, FlowRecord } from '../store.ts'

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
}

/** Any value a backend keeps under a flow key. */
export type StoredFlow = CodeRecord | HeldCodeRecord | ErrorRecord | SpentRecord

/** What a pickup does with the stored value. */
export type PickupStep =
  | { readonly kind: 'pending' | 'busy' | 'spent' }
  | { readonly kind: 'refused'; readonly error: AuthorizationError }
  /** Write `held` (conditionally, where the backend can) and exchange `record`. */
  | { readonly kind: 'claimed'; readonly record: CodeRecord; readonly held: HeldCodeRecord }

/** Parses a stored flow value, rejecting anything that is not well-formed. */
export function parseStoredFlow(value: unknown): StoredFlow | null {
  if (typeof value !== 'object' || value === null) return null
  const stored = value as Record<string, unknown>
  if (typeof stored.exp !== 'number') return null
  const exp = stored.exp
  if (stored.spent === true) return { spent: true, exp }
  if (typeof stored.error === 'string' && (AUTHORIZATION_ERRORS as readonly string[]).includes(stored.error)) {
    return { error: stored.error as AuthorizationError, exp }
  }
  if (typeof stored.code !== 'string' || typeof stored.redirect_uri !== 'string') return null
  const record: CodeRecord = { code: stored.code, redirect_uri: stored.redirect_uri, exp }
  const lease = parseLease(stored.lease)
  return lease ? { ...record, lease } : record
}

/** Decides a pickup at `nowSeconds`: a live, unheld code (or one whose lease ran out) is claimed under `leaseId`. */
export function beginPickup(stored: StoredFlow | null, nowSeconds: number, leaseId: string): PickupStep {
  // KV expiry is lazy, so `exp` is checked on every read.
  if (!stored || stored.exp <= nowSeconds) return { kind: 'pending' }
  if ('spent' in stored) return { kind: 'spent' }
  if ('error' in stored) return { kind: 'refused', error: stored.error }
  if ('lease' in stored && stored.lease.until > nowSeconds) return { kind: 'busy' }
  const record: CodeRecord = { code: stored.code, redirect_uri: stored.redirect_uri, exp: stored.exp }
  return { kind: 'claimed', record, held: { ...record, lease: { id: leaseId, until: nowSeconds + CLAIM_LEASE_SECONDS } } }
}

/**
 * What ends a claim: the tombstone on `consume`, the bare code on `release`; `null` when the
 * stored value is no longer this lease's (it ran out and another pickup took over).
 */
export function finishPickup(stored: StoredFlow | null, leaseId: string, how: 'consume' | 'release'): StoredFlow | null {
  if (!stored || !('lease' in stored) || stored.lease.id !== leaseId) return null
  return how === 'consume' ? spentRecord(stored) : { code: stored.code, redirect_uri: stored.redirect_uri, exp: stored.exp }
}

/** The tombstone that replaces a record after its final answer. */
export function spentRecord(record: FlowRecord): SpentRecord {
  return { spent: true, exp: record.exp }
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
