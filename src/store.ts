/**
 * @module
 * What the relay keeps between Unity's callback and the app's pickup, and the store contract.
 * Records are keyed by the PKCE `code_challenge`, which is already a hash of the app's verifier.
 */
import { RelayError } from './errors.ts'

/** Workers KV rejects an `expirationTtl` below 60 seconds. */
export const KV_MIN_EXPIRATION_TTL_SECONDS = 60

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

/** Unity answered with an error: the app learns it on its next poll. */
export interface ErrorRecord {
  readonly error: AuthorizationError
  /** Unix seconds; checked on read because KV expiry is lazy. */
  readonly exp: number
}

/** What the callback stores for one flow. */
export type FlowRecord = CodeRecord | ErrorRecord

/** A record taken for one token exchange. */
export interface Claim {
  readonly record: FlowRecord
  /** The exchange reached a final answer: remove the record for good. */
  consume(): Promise<void>
  /** The exchange failed transiently: make the record available to the app's retry. */
  release(): Promise<void>
}

/**
 * Where flow records live. Implementations: Workers KV (eventually consistent, so a claim is a
 * plain read) and Deno KV (a claim is an atomic delete, so a code is picked up at most once).
 */
export interface CodeStore {
  /** Stores `record` for `ttlSeconds` (at least {@link KV_MIN_EXPIRATION_TTL_SECONDS}). */
  save(challenge: string, record: FlowRecord, ttlSeconds: number): Promise<void>
  /** Takes the live record for `challenge`, or `null` if there is none or it has expired. */
  claim(challenge: string, nowSeconds: number): Promise<Claim | null>
}

/** Parses a stored value, rejecting anything that is not a well-formed record. */
export function parseFlowRecord(value: unknown): FlowRecord | null {
  if (typeof value !== 'object' || value === null) return null
  const record = value as Record<string, unknown>
  if (typeof record.exp !== 'number') return null
  if (typeof record.code === 'string' && typeof record.redirect_uri === 'string') {
    return { code: record.code, redirect_uri: record.redirect_uri, exp: record.exp }
  }
  if (typeof record.error === 'string' && (AUTHORIZATION_ERRORS as readonly string[]).includes(record.error)) {
    return { error: record.error as AuthorizationError, exp: record.exp }
  }
  return null
}

/** Whether a record is still live at `nowSeconds`. */
export function isLive(record: FlowRecord, nowSeconds: number): boolean {
  return record.exp > nowSeconds
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
