/**
 * @module
 * Sealed refresh tokens: Unity's refresh token, encrypted and authenticated by the relay with
 * AES-256-GCM (WebCrypto), so it never reaches an app in the clear and only this relay can open
 * it (issue #17). Format: `v1.<kid>.<base64url(iv ‖ ciphertext ‖ tag)>`, with `v1.<kid>` as the
 * additional authenticated data.
 */
import { fromBase64Url, toBase64Url } from './base64url.ts'
import { RelayError } from './errors.ts'
import { MAX_REFRESH_TOKEN_LENGTH } from './inputs.ts'

/** What a sealed refresh token carries. */
export interface RefreshPayload {
  /** Unity's own refresh token, which only the relay ever sees. */
  readonly unityRefreshToken: string
  /** Names the grant across its generations: 128 random bits, base64url ({@link newGrantId}). */
  readonly grantId: string
  /** 0 at the pickup, one more at each refresh. */
  readonly generation: number
  /** The scope Unity granted, as far as the relay knows; `''` when no answer named one. */
  readonly scope: string
  /** When the relay sealed this token, Unix seconds. */
  readonly issuedAt: number
  /** RFC 7638 SHA-256 thumbprint (base64url) of the DPoP key the token is bound to (RFC 9449 §5). */
  readonly jkt?: string
}

/** Why a refresh token did not open: not the relay's, a key no longer configured, or altered. */
export type RefreshTokenProblem = 'not_sealed' | 'unknown_key' | 'damaged'

/**
 * The cause of an `invalid_grant` from {@link openRefreshToken}: which check failed, for the log
 * line. Never the token.
 */
export class RefreshTokenRefusal {
  readonly reason: RefreshTokenProblem

  constructor(reason: RefreshTokenProblem) {
    this.reason = reason
  }
}

/** An AES-256-GCM key with its public identifier. */
export interface RefreshSealKey {
  readonly kid: string
  readonly key: CryptoKey
}

/** The current key seals; every key (current, then previous) opens. */
export interface RefreshSealKeys {
  readonly current: RefreshSealKey
  readonly all: readonly RefreshSealKey[]
}

const VERSION = 'v1'
/** Base64url characters of a key id: 48 bits, enough that two configured keys never collide. */
const KID_CHARACTERS = 8
/** NIST SP 800-38D §8.2: a 96-bit IV, fresh from the CSPRNG for every token. */
const IV_BYTES = 12
const TAG_BYTES = 16
/** The shortest JSON the relay could have sealed, `[]`: anything shorter is not a token of ours. */
const MIN_PLAINTEXT_BYTES = 2
/**
 * RFC 5869 §3.1: a fixed, public salt is allowed; this one is spelt out so another implementation
 * can derive the same keys. The `info` strings name each key's purpose (§3.2), so the AEAD key and
 * the key id come from independent outputs, and neither equals the state's HMAC key, even if an
 * operator reused a secret.
 */
export const REFRESH_SEAL_HKDF_SALT = 'unity-oauth-relay refresh-token seal'
/** HKDF `info` of the AES-256-GCM key. */
export const REFRESH_SEAL_KEY_INFO = 'unity-oauth-relay v1 refresh-token seal: AES-256-GCM key'
/** HKDF `info` of the key id, which is public and so must say nothing about the AEAD key. */
export const REFRESH_SEAL_KID_INFO = 'unity-oauth-relay v1 refresh-token seal: key id'

const SEALED_PATTERN = /^v1\.([A-Za-z0-9_-]{8})\.([A-Za-z0-9_-]+)$/
const GRANT_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/
/** RFC 7638 thumbprint with SHA-256: 32 bytes, 43 base64url characters. */
const JKT_PATTERN = /^[A-Za-z0-9_-]{43}$/
const encoder = new TextEncoder()
/** Refuses invalid UTF-8 instead of replacing it; reusable, since no call streams. */
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

/**
 * Derives the sealing keys from secrets, current first, with HKDF-SHA256. The key id is derived
 * from the secret too, so a token sealed before a rotation finds its key afterwards.
 *
 * @example
 * const keys = await importRefreshSealKeys(config.refreshSealSecrets)
 */
export async function importRefreshSealKeys(secrets: readonly string[]): Promise<RefreshSealKeys> {
  const salt = encoder.encode(REFRESH_SEAL_HKDF_SALT)
  const all = await Promise.all(
    secrets.map(async (secret): Promise<RefreshSealKey> => {
      const material = await crypto.subtle.importKey('raw', encoder.encode(secret), 'HKDF', false, ['deriveKey', 'deriveBits'])
      const key = await crypto.subtle.deriveKey(
        { name: 'HKDF', hash: 'SHA-256', salt, info: encoder.encode(REFRESH_SEAL_KEY_INFO) },
        material,
        { name: 'AES-GCM', length: 256 },
        false,
        ['encrypt', 'decrypt'],
      )
      const kidBits = await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info: encoder.encode(REFRESH_SEAL_KID_INFO) }, material, 48)
      return { kid: toBase64Url(kidBits).slice(0, KID_CHARACTERS), key }
    }),
  )
  const [current] = all
  if (!current) throw new RelayError('misconfigured', "Check the relay's settings: REFRESH_SEAL_SECRET is missing.")
  return { current, all }
}

/**
 * A fresh grant id: 128 bits from the CSPRNG, base64url (22 characters). It is drawn apart from
 * the Unity token and the keys, so it says nothing about either: logs and store keys may carry it.
 */
export function newGrantId(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(16)))
}

/**
 * Seals a payload with the current key. A sealed token of a 64-character Unity refresh token is
 * 220 characters, or 282 with a DPoP thumbprint (at generation 999,999, scope `api read write`).
 *
 * @throws {RelayError} `upstream_invalid_response` when Unity's refresh token is empty, or so long
 *   that the sealed token would be longer than `/token` accepts back (4,096 characters).
 */
export async function sealRefreshToken(keys: RefreshSealKeys, payload: RefreshPayload): Promise<string> {
  const { unityRefreshToken, grantId, generation, scope, issuedAt, jkt } = payload
  if (unityRefreshToken === '') throw new RelayError('upstream_invalid_response', 'Unity answered an empty refresh token.')
  // v1 payload: a positional JSON array, which keeps the token short.
  const fields: unknown[] = [unityRefreshToken, grantId, generation, scope, issuedAt]
  if (jkt !== undefined) fields.push(jkt)
  const plaintext = encoder.encode(JSON.stringify(fields))
  const prefix = `${VERSION}.${keys.current.kid}`
  // A token /token would refuse as too long must not be handed out.
  if (prefix.length + 1 + Math.ceil(((IV_BYTES + plaintext.length + TAG_BYTES) * 4) / 3) > MAX_REFRESH_TOKEN_LENGTH) {
    throw new RelayError('upstream_invalid_response', `Unity's refresh token is too long for the relay to seal within ${MAX_REFRESH_TOKEN_LENGTH} characters.`)
  }
  const sealed = new Uint8Array(IV_BYTES + plaintext.length + TAG_BYTES)
  const iv = crypto.getRandomValues(sealed.subarray(0, IV_BYTES))
  // The prefix is authenticated, so a token cannot be moved to another version or key id (RFC 5116 §2.1).
  const ciphertext = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: encoder.encode(prefix), tagLength: TAG_BYTES * 8 }, keys.current.key, plaintext)
  sealed.set(new Uint8Array(ciphertext), IV_BYTES)
  return `${prefix}.${toBase64Url(sealed)}`
}

/**
 * Opens a sealed refresh token. Any input, of any length, either opens or is refused with
 * `invalid_grant`; the description says which check failed, never what was sent.
 *
 * @throws {RelayError} `invalid_grant`.
 */
export async function openRefreshToken(keys: RefreshSealKeys, token: string): Promise<RefreshPayload> {
  const match = token.length <= MAX_REFRESH_TOKEN_LENGTH ? SEALED_PATTERN.exec(token) : null
  if (!match) throw refused('not_sealed', 'This refresh token was not issued by this relay; a raw Unity refresh token is not accepted. Sign in again.')
  const [, kid, body = ''] = match
  const key = keys.all.find((candidate) => candidate.kid === kid)
  if (!key) throw refused('unknown_key', 'This refresh token was sealed with a key the relay no longer holds. Sign in again.')
  const sealed = fromBase64Url(body)
  if (!sealed || sealed.length < IV_BYTES + MIN_PLAINTEXT_BYTES + TAG_BYTES) throw damaged()
  let plaintext: ArrayBuffer
  try {
    plaintext = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: sealed.subarray(0, IV_BYTES), additionalData: encoder.encode(`${VERSION}.${kid}`), tagLength: TAG_BYTES * 8 },
      key.key,
      sealed.subarray(IV_BYTES),
    )
  } catch {
    throw damaged()
  }
  const payload = parsePayload(plaintext)
  if (!payload) throw damaged()
  return payload
}

function parsePayload(plaintext: ArrayBuffer): RefreshPayload | null {
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(plaintext))
  } catch {
    return null
  }
  if (!Array.isArray(value) || value.length < 5 || value.length > 6) return null
  const [unityRefreshToken, grantId, generation, scope, issuedAt, jkt] = value as unknown[]
  const valid =
    typeof unityRefreshToken === 'string' && unityRefreshToken !== '' &&
    typeof grantId === 'string' && GRANT_ID_PATTERN.test(grantId) &&
    Number.isSafeInteger(generation) && (generation as number) >= 0 &&
    typeof scope === 'string' &&
    Number.isSafeInteger(issuedAt) &&
    (jkt === undefined || (typeof jkt === 'string' && JKT_PATTERN.test(jkt)))
  if (!valid) return null
  return { unityRefreshToken, grantId, generation: generation as number, scope, issuedAt: issuedAt as number, ...(jkt === undefined ? {} : { jkt: jkt as string }) }
}

function refused(reason: RefreshTokenProblem, description: string): RelayError {
  return new RelayError('invalid_grant', description, { cause: new RefreshTokenRefusal(reason) })
}

function damaged(): RelayError {
  return refused('damaged', 'This refresh token is damaged or forged. Sign in again.')
}
