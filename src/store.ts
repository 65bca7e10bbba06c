/**
 * @module
 * What the relay keeps between Unity's callback and the app's pickup, and the store contract.
 * Flow records are keyed by the PKCE `code_challenge`, which is already a hash of the app's
 * verifier; device records by the RFC 8628 user code.
 */
import { RelayError } from './errors.ts'
import { cleanPlace } from './place.ts'
import type { Place } from './place.ts'
import type { GrantAnswer, GrantRecord, GrantRefresh, GrantRule } from './stores/grant-state.ts'
import { STORED_USER_CODE_PATTERN } from './user-code.ts'

/** Workers KV rejects an `expirationTtl` below 60 seconds. */
export const KV_MIN_EXPIRATION_TTL_SECONDS = 60

/**
 * How long a pickup holds a claimed code before another pickup may take it over. It outlasts the
 * upstream timeout (10 s by default), so a holder that crashed mid-exchange cannot strand a login.
 */
export const CLAIM_LEASE_SECONDS = 30

/** The authorization errors of RFC 6749 §4.1.2.1; anything else Unity sends maps to `server_error`. */
export const AUTHORIZATION_ERRORS = [
  'invalid_request',
  'unauthorized_client',
  'access_denied',
  'unsupported_response_type',
  'invalid_scope',
  'server_error',
  'temporarily_unavailable',
] as const

/** One of {@link AUTHORIZATION_ERRORS}. */
export type AuthorizationError = (typeof AUTHORIZATION_ERRORS)[number]

/** Unity answered with a code: the app may exchange it once. */
export interface CodeRecord {
  readonly code: string
  /** The exact redirect URI Unity saw, needed again at the token endpoint (RFC 6749 §4.1.3). */
  readonly redirect_uri: string
  /** Unix seconds; checked on read because KV expiry is lazy. */
  readonly exp: number
}

/** Unity answered with an error, or the user cancelled: the app learns it on its next poll. */
export interface ErrorRecord {
  readonly error: AuthorizationError
  /** Unix seconds; checked on read because KV expiry is lazy. */
  readonly exp: number
}

/** What the callback (or a cancel) stores for one flow. */
export type FlowRecord = CodeRecord | ErrorRecord

/**
 * The user pressed Continue for this flow in the browser whose binding hash is `confirmed`
 * (`POST /authorize`), so a callback for that browser's state may store its result.
 */
export interface ConfirmationRecord {
  /** The binding hash of the state whose Continue was pressed (the state's `bh`). */
  readonly confirmed: string
  /** Unix seconds: the state's own `exp`, so it lives no longer than the login may. */
  readonly exp: number
}

/** A device authorization (RFC 8628 §3.2) waiting for its user code to be entered. */
export interface DeviceRecord {
  /** The flow's PKCE `code_challenge`, `S256(device_code)`. */
  readonly cc: string
  /** The scope the device asked for. */
  readonly sc: string
  /** Unix seconds. */
  readonly exp: number
  /** When the device asked, Unix seconds: the confirmation page says so (RFC 8628 §5.4). */
  readonly iat?: number
  /** Where the device asked from, if the runtime knew: shown to the user, who compares it with where they are. */
  readonly from?: Place
}

/** A user code as stored (RFC 8628 §6.1 normalised), whose shape `user-code.ts` defines. */
export const USER_CODE_PATTERN = STORED_USER_CODE_PATTERN

/**
 * A replay-cache key: the SHA-256 of a DPoP proof's key thumbprint and `jti`, base64url (see
 * `dpop-request.ts`), so every key is 43 characters whatever the proof's `jti`.
 */
export const PROOF_KEY_PATTERN = /^[A-Za-z0-9_-]{43}$/

/** Whether a DPoP proof was remembered now (`new`) or had been already (`seen`, a replay). */
export type ProofUse = 'new' | 'seen'

/** What the replay cache keeps for one proof: nothing of the proof, only until when it is kept. */
export interface ProofRecord {
  readonly proof: true
  /** Unix seconds: the proof's `replayableUntil`. */
  readonly exp: number
}

/** A create-only write either made the record or found one already there (and left it alone). */
export type SaveResult = 'created' | 'exists'

/**
 * What a write to a flow found, and so whether it wrote:
 * - `created`: written (for a confirmation, also when this browser had confirmed already);
 * - `exists`: the flow holds a result already (a code, an error or a tombstone), which is kept;
 * - `elsewhere`: another browser confirmed the flow;
 * - `unconfirmed`: a result needs this browser's confirmation, and nothing confirmed the flow.
 */
export type FlowWriteResult = SaveResult | 'elsewhere' | 'unconfirmed'

/** Whose result a {@link CodeStore.save} is, and whether it may finish a flow nobody confirmed. */
export interface SaveCondition {
  /** The binding hash of the state the result came with. */
  readonly binding: string
  /** `allow`: a Cancel may also end a flow that nothing is stored for yet. */
  readonly unconfirmed?: 'allow'
}

/** A code taken for one token exchange; no other pickup gets it while the claim is open. */
export interface Claim {
  readonly record: CodeRecord
  /** The exchange reached a final answer: the record becomes a "spent" tombstone until its `exp`. */
  consume(): Promise<void>
  /** The exchange failed transiently: make the code available to the app's retry. */
  release(): Promise<void>
}

/** What a pickup finds for a flow. */
export type Pickup =
  /** Nothing stored yet, or the record has expired. */
  | { readonly kind: 'pending' }
  /** Another pickup holds the code right now; its outcome decides what the next poll sees. */
  | { readonly kind: 'busy' }
  /** The code was exchanged (or Unity refused it) already. */
  | { readonly kind: 'spent' }
  /** Unity refused the sign-in or the user cancelled it; answered to every poll until `exp`. */
  | { readonly kind: 'refused'; readonly error: AuthorizationError }
  /** This pickup holds the code. */
  | { readonly kind: 'claimed'; readonly claim: Claim }

/**
 * Where flow and device records live. Implementations: Workers KV (eventually consistent, best
 * effort), a Durable Object per record (strongly consistent, atomic) and Deno KV (strongly
 * consistent, atomic). See docs/stores.md, "Choosing a store".
 */
export interface CodeStore {
  /**
   * Records that the browser with binding hash `binding` pressed Continue, until `exp`, for
   * `ttlSeconds` (at least {@link KV_MIN_EXPIRATION_TTL_SECONDS}). Create-only, except that the
   * same browser confirming again succeeds without a write; never `unconfirmed`.
   */
  confirm(challenge: string, binding: string, exp: number, ttlSeconds: number): Promise<FlowWriteResult>
  /**
   * Stores `record` for `ttlSeconds` (at least {@link KV_MIN_EXPIRATION_TTL_SECONDS}) in place of
   * the confirmation by `condition.binding`, or, with `unconfirmed: 'allow'`, where nothing is
   * stored yet. A result, a claim or a tombstone is never replaced: the first result is kept.
   */
  save(challenge: string, record: FlowRecord, ttlSeconds: number, condition: SaveCondition): Promise<FlowWriteResult>
  /** Looks up the flow for a pickup and, if it holds a live code, claims it. */
  claim(challenge: string, nowSeconds: number): Promise<Pickup>
  /** Stores a device record under its user code unless one is already there. */
  saveDevice(userCode: string, record: DeviceRecord, ttlSeconds: number): Promise<SaveResult>
  /** The live device record for a user code, or `null` if there is none or it has expired. */
  findDevice(userCode: string, nowSeconds: number): Promise<DeviceRecord | null>
  /**
   * The DPoP replay cache (RFC 9449 §11.1): remembers the proof `key` (a {@link PROOF_KEY_PATTERN}
   * hash) until `untilSeconds` and answers `new`, or `seen` if it was remembered already.
   * Create-only: a seen key is left as it is. Exact on Durable Objects and Deno KV, best effort
   * on Workers KV (see its module).
   */
  rememberProof(key: string, untilSeconds: number, nowSeconds: number): Promise<ProofUse>
  /**
   * Whether {@link refreshGrant} enforces rotation: `enforced` on the strongly consistent stores;
   * `unenforced` on Workers KV, which checks only a grant's expiry and its revoked flag.
   */
  readonly rotation: 'enforced' | 'unenforced'
  /** Stores a grant's record under its grant id until `record.exp`. */
  startGrant(grantId: string, record: GrantRecord, nowSeconds: number): Promise<void>
  /**
   * One refresh of `grantId` presented at `generation`, decided by `decideRefresh`: refused, or
   * answered by `exchange` (which asks Unity), or by the answer of a concurrent refresh of the same
   * generation. On tokens the record moves one generation up.
   */
  refreshGrant(grantId: string, generation: number, rule: GrantRule, exchange: () => Promise<GrantAnswer>): Promise<GrantRefresh>
  /** Marks a grant revoked until its `exp`; a grant without a live record stays as it is. */
  revokeGrant(grantId: string, nowSeconds: number): Promise<void>
}

/** Refuses a replay-cache key that is not a {@link PROOF_KEY_PATTERN} hash, so no odd key reaches a backend. */
export function assertProofKey(key: string): void {
  if (!PROOF_KEY_PATTERN.test(key)) throw new RangeError('A proof key is 43 characters of base64url.')
}

/** Parses a stored device value, rejecting anything that is not a well-formed record. */
export function parseDeviceRecord(value: unknown): DeviceRecord | null {
  if (typeof value !== 'object' || value === null) return null
  const record = value as Record<string, unknown>
  if (typeof record.cc !== 'string' || typeof record.sc !== 'string' || typeof record.exp !== 'number') return null
  const from = cleanPlace(typeof record.from === 'object' && record.from !== null ? record.from : undefined)
  return {
    cc: record.cc,
    sc: record.sc,
    exp: record.exp,
    ...(typeof record.iat === 'number' ? { iat: record.iat } : {}),
    ...(from === undefined ? {} : { from }),
  }
}

/** Refuses a user code that is not in stored form, so no odd key ever reaches a backend. */
export function assertUserCode(userCode: string): void {
  if (!USER_CODE_PATTERN.test(userCode)) throw new RangeError('A stored user code is in the form normalizeUserCode returns: letters of USER_CODE_ALPHABET, no dash.')
}

/** The backend TTL for a record that lives until `exp`, never below KV's minimum. */
export function ttlUntil(exp: number, nowSeconds: number): number {
  return Math.max(exp - nowSeconds, KV_MIN_EXPIRATION_TTL_SECONDS)
}

/**
 * Runs a store operation, turning any fault into a `store_unavailable` error that says what broke
 * without leaking the backend's message.
 */
export async function guardStore<T>(action: string, operation: Promise<T>): Promise<T> {
  try {
    return await operation
  } catch (cause) {
    throw new RelayError('store_unavailable', `The relay could not ${action} its code store. Try again shortly.`, { cause })
  }
}
