/**
 * @module
 * The OAuth `state`: a compact HMAC-SHA256 token that carries the whole flow, so `/authorize`
 * stores nothing (RFC 6749 §10.12). Format: `v1.<kid>.<payload>.<signature>`, all base64url.
 */
import { fromBase64Url, toBase64Url } from './base64url.ts'
import { RelayError } from './errors.ts'

/** What a state carries between `/authorize` and `/callback`. */
export interface StatePayload {
  /** Issued at, Unix seconds. */
  readonly iat: number
  /** Expires at, Unix seconds. */
  readonly exp: number
  /** The app's PKCE `code_challenge`, which also keys the stored record. */
  readonly cc: string
  /** The scope sent to Unity. */
  readonly sc: string
  /** Where to send the browser after the callback, already checked against the allowlist. */
  readonly rt?: string
  /** Hash of the browser-binding nonce held in the flow's cookie. */
  readonly bh: string
  /** The flow belongs to a device (RFC 8628): its pages tell the user to return to the device. */
  readonly dv?: true
}

/** A signing key with its public identifier. */
export interface StateKey {
  readonly kid: string
  readonly key: CryptoKey
}

/** The current key signs; every key (current, then previous) verifies. */
export interface StateKeys {
  readonly current: StateKey
  readonly all: readonly StateKey[]
}

const VERSION = 'v1'
/** Longest state accepted before any crypto, so oversized input costs nothing. */
export const MAX_STATE_LENGTH = 1024
/** Tolerated clock difference between isolates for `iat` in the future. */
const CLOCK_SKEW_SECONDS = 60
const encoder = new TextEncoder()
/** Refuses invalid UTF-8 instead of replacing it; reusable, since no call streams. */
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

/**
 * Imports HMAC keys from secrets, current first. The key id is derived from the key itself, so a
 * state signed before a rotation still finds its key afterwards.
 */
export async function importStateKeys(secrets: readonly string[]): Promise<StateKeys> {
  const all = await Promise.all(
    secrets.map(async (secret): Promise<StateKey> => {
      const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
      const kid = toBase64Url(await crypto.subtle.sign('HMAC', key, encoder.encode('unity-oauth-relay key id'))).slice(0, 8)
      return { kid, key }
    }),
  )
  const [current] = all
  if (!current) throw new RelayError('misconfigured', "Check the relay's settings: STATE_SECRET is missing.")
  return { current, all }
}

/** Signs a payload with the current key. */
export async function signState(keys: StateKeys, payload: StatePayload): Promise<string> {
  const { iat, exp, cc, sc, bh, rt, dv } = payload
  // v1 payload: a positional JSON array, which keeps the state well under 300 characters.
  const fields: unknown[] = [iat, exp, cc, sc, bh]
  if (rt !== undefined || dv) fields.push(rt ?? null)
  if (dv) fields.push(1)
  const signed = `${VERSION}.${keys.current.kid}.${toBase64Url(encoder.encode(JSON.stringify(fields)))}`
  const signature = await crypto.subtle.sign('HMAC', keys.current.key, encoder.encode(signed))
  const state = `${signed}.${toBase64Url(signature)}`
  // A state the callback would refuse must be refused now, before the user signs in for nothing.
  if (state.length > MAX_STATE_LENGTH) {
    throw new RelayError('invalid_request', 'The sign-in request is too long: use a shorter return_to or scope.')
  }
  return state
}

/**
 * Verifies a state: signature first (constant time, via `crypto.subtle.verify`), then expiry.
 * The caller checks the browser binding next.
 *
 * @throws {RelayError} `invalid_state` or `expired_state`.
 */
export async function verifyState(keys: StateKeys, state: string, nowSeconds: number): Promise<StatePayload> {
  const parts = state.length <= MAX_STATE_LENGTH ? state.split('.') : []
  const [version, kid, body, signatureText] = parts
  const key = keys.all.find((candidate) => candidate.kid === kid)
  const signature = fromBase64Url(signatureText ?? '')
  if (parts.length !== 4 || version !== VERSION || !key || !signature || body === undefined) throw invalidState()
  if (!(await verifySignature(key.key, signature, `${version}.${kid}.${body}`))) throw invalidState()

  const payload = parsePayload(fromBase64Url(body))
  if (!payload || payload.iat > nowSeconds + CLOCK_SKEW_SECONDS) throw invalidState()
  if (payload.exp <= nowSeconds) {
    throw new RelayError('expired_state', 'The sign-in took too long. Go back to the app and start again.')
  }
  return payload
}

async function verifySignature(key: CryptoKey, signature: Uint8Array<ArrayBuffer>, signed: string): Promise<boolean> {
  try {
    return await crypto.subtle.verify('HMAC', key, signature, encoder.encode(signed))
  } catch {
    return false
  }
}

function parsePayload(bytes: Uint8Array | null): StatePayload | null {
  if (!bytes) return null
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(bytes))
  } catch {
    return null
  }
  if (!Array.isArray(value) || value.length < 5 || value.length > 7) return null
  const [iat, exp, cc, sc, bh, rt, dv] = value as unknown[]
  const valid =
    Number.isSafeInteger(iat) && Number.isSafeInteger(exp) &&
    typeof cc === 'string' && typeof sc === 'string' && typeof bh === 'string' &&
    (rt === undefined || typeof rt === 'string' || (rt === null && dv === 1)) &&
    (dv === undefined || dv === 1)
  if (!valid) return null
  return { iat: iat as number, exp: exp as number, cc, sc, bh, ...(typeof rt === 'string' ? { rt } : {}), ...(dv === 1 ? { dv: true } : {}) }
}

function invalidState(): RelayError {
  return new RelayError('invalid_state', 'This sign-in link is not valid. Go back to the app and start again.')
}
