/**
 * @module
 * The OAuth `state`: a compact HMAC-SHA256 token that carries the whole flow, so `GET /authorize`
 * stores nothing (RFC 6749 §10.12); only the user's Continue records that the flow was confirmed. Format: `v1.<kid>.<payload>.<signature>`, all base64url.
 */
import { asciiToBase64Url, base64UrlDecodedLength, decodeBase64UrlInto, toBase64Url } from './base64url.ts'
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
  /**
   * The page was reached from another site: Continue needs the user to pick the flow's code, so
   * a press that another site steered (double-click-jacking) cannot confirm it.
   */
  readonly pk?: true
  /** A standard authorization request (RFC 6749 §4.1): where and to whom the result goes. */
  readonly app?: AppFlow
}

/** What a standard flow's state carries of the app's request, to the callback (and a Cancel). */
export interface AppFlow {
  /** The app's `redirect_uri`, exactly as it was sent and checked. */
  readonly redirectUri: string
  /** The app's `client_id`: untrusted text. */
  readonly clientId: string
  /** The app's `state`, echoed back exactly. */
  readonly state?: string
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
/**
 * Longest state accepted before any crypto, so oversized input costs nothing. A standard flow's
 * state carries the app's redirect URI, client_id and state (512 characters of any text), which
 * fit even at their longest.
 */
export const MAX_STATE_LENGTH = 4096
/** Longest state signed for a pickup flow, as before standard flows: its return_to and scope keep it short. */
const MAX_PICKUP_STATE_LENGTH = 1024
/** Base64url characters of an HMAC-SHA256 signature (32 bytes). */
const SIGNATURE_CHARACTERS = 43
/** Tolerated clock difference between isolates for `iat` in the future. */
const CLOCK_SKEW_SECONDS = 60
const encoder = new TextEncoder()
/** Refuses invalid UTF-8 instead of replacing it; reusable, since no call streams. */
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })
/**
 * Holds each HMAC input, and each decoded part, for one synchronous step: WebCrypto copies its
 * inputs before `sign()` and `verify()` return (WebCrypto §14.3.5, §14.3.6), so no call sees
 * another's bytes, and a state costs no byte array (and no garbage) of its own. Text goes in the
 * lower half, decoded bytes in the upper.
 */
const scratch = new Uint8Array(2 * MAX_STATE_LENGTH)

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
  const { iat, exp, cc, sc, bh, rt, dv, pk, app } = payload
  // v1 payload: a positional JSON array, which keeps a pickup's state well under 300 characters.
  const fields: unknown[] = [iat, exp, cc, sc, bh]
  if (app !== undefined) {
    // A standard flow has no return_to, no device and no code to pick: one spelling, [.., null, 0, 0, [redirect, client, state?]].
    fields.push(null, 0, 0, app.state === undefined ? [app.redirectUri, app.clientId] : [app.redirectUri, app.clientId, app.state])
  } else {
    if (rt !== undefined || dv || pk) fields.push(rt ?? null)
    if (dv || pk) fields.push(dv ? 1 : 0)
    if (pk) fields.push(1)
  }
  const json = JSON.stringify(fields)
  const signed = `${VERSION}.${keys.current.kid}.${asciiToBase64Url(json) ?? toBase64Url(encoder.encode(json))}`
  // A state the callback would refuse must be refused now, before the user signs in for nothing.
  if (signed.length + 1 + SIGNATURE_CHARACTERS > (app === undefined ? MAX_PICKUP_STATE_LENGTH : MAX_STATE_LENGTH)) {
    throw new RelayError('invalid_request', app === undefined ? 'The sign-in request is too long: use a shorter return_to or scope.' : 'The sign-in request is too long: use a shorter state, redirect_uri or scope.')
  }
  const signature = await crypto.subtle.sign('HMAC', keys.current.key, asciiInScratch(signed) ?? encoder.encode(signed))
  return `${signed}.${toBase64Url(signature)}`
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
  if (parts.length !== 4 || version !== VERSION || !key || body === undefined || signatureText === undefined) throw invalidState()
  if (!(await verifySignature(key.key, signatureText, state.slice(0, state.length - signatureText.length - 1)))) throw invalidState()

  const payload = parsePayload(payloadJson(body))
  if (!payload || payload.iat > nowSeconds + CLOCK_SKEW_SECONDS) throw invalidState()
  if (payload.exp <= nowSeconds) {
    throw new RelayError('expired_state', 'The sign-in took too long. Go back to the app and start again.')
  }
  return payload
}

function verifySignature(key: CryptoKey, signatureText: string, signed: string): Promise<boolean> {
  const data = asciiInScratch(signed)
  const signature = decodedInScratch(signatureText)
  if (!data || !signature) return Promise.resolve(false)
  return crypto.subtle.verify('HMAC', key, signature, data).catch(() => false)
}

/** `text` as bytes in the scratch buffer's lower half, or `null` if it is not ASCII. */
function asciiInScratch(text: string): Uint8Array<ArrayBuffer> | null {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code > 127) return null
    scratch[i] = code
  }
  return scratch.subarray(0, text.length)
}

/** Canonical base64url `text` decoded into the scratch buffer's upper half, or `null`. */
function decodedInScratch(text: string): Uint8Array<ArrayBuffer> | null {
  const length = base64UrlDecodedLength(text)
  if (length < 0 || length > MAX_STATE_LENGTH) return null
  const bytes = scratch.subarray(MAX_STATE_LENGTH, MAX_STATE_LENGTH + length)
  return decodeBase64UrlInto(text, bytes) ? bytes : null
}

/** The payload's JSON text: valid UTF-8 only, though the relay itself signs ASCII. */
function payloadJson(body: string): string | null {
  const bytes = decodedInScratch(body)
  if (!bytes) return null
  let ascii = true
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! > 127) ascii = false
  try {
    return ascii ? String.fromCharCode.apply(null, bytes as unknown as number[]) : decoder.decode(bytes)
  } catch {
    return null
  }
}

function parsePayload(json: string | null): StatePayload | null {
  if (json === null) return null
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch {
    return null
  }
  if (!Array.isArray(value) || value.length < 5 || value.length > 9) return null
  const [iat, exp, cc, sc, bh, rt, dv, pk, ap] = value as unknown[]
  const app = value.length === 9 ? parseAppFlow(ap) : undefined
  // One spelling per payload: a trailing null or 0 is never written, so it is never read.
  const valid =
    Number.isSafeInteger(iat) && Number.isSafeInteger(exp) &&
    typeof cc === 'string' && typeof sc === 'string' && typeof bh === 'string' &&
    (value.length === 9
      ? app !== null && rt === null && dv === 0 && pk === 0
      : (rt === undefined || typeof rt === 'string' || (rt === null && (dv === 1 || pk === 1))) &&
        (dv === undefined || dv === 1 || (dv === 0 && pk === 1)) &&
        (pk === undefined || pk === 1))
  if (!valid) return null
  return {
    iat: iat as number, exp: exp as number, cc, sc, bh,
    ...(typeof rt === 'string' ? { rt } : {}),
    ...(dv === 1 ? { dv: true } : {}),
    ...(pk === 1 ? { pk: true } : {}),
    ...(app ? { app } : {}),
  }
}

/** `[redirect_uri, client_id]` or `[redirect_uri, client_id, state]`. */
function parseAppFlow(value: unknown): AppFlow | null {
  if (!Array.isArray(value) || value.length < 2 || value.length > 3 || !value.every((item) => typeof item === 'string')) return null
  const [redirectUri, clientId, state] = value as string[]
  return state === undefined ? { redirectUri: redirectUri!, clientId: clientId! } : { redirectUri: redirectUri!, clientId: clientId!, state }
}

function invalidState(): RelayError {
  return new RelayError('invalid_state', 'This sign-in link is not valid. Go back to the app and start again.')
}
