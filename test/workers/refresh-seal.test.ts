/**
 * Sealed refresh tokens: round trip, the documented format (an independent decryption), sizes,
 * keys and rotation, every kind of refusal, and the length bound.
 */
import { describe, expect, it } from 'vitest'
import { fromBase64Url, toBase64Url } from '../../src/base64url.ts'
import { RelayError } from '../../src/errors.ts'
import { MAX_REFRESH_TOKEN_LENGTH } from '../../src/inputs.ts'
import {
  importRefreshSealKeys,
  newGrantId,
  openRefreshToken,
  REFRESH_SEAL_HKDF_SALT,
  REFRESH_SEAL_KEY_INFO,
  REFRESH_SEAL_KID_INFO,
  RefreshTokenRefusal,
  sealRefreshToken,
} from '../../src/refresh-seal.ts'
import type { RefreshPayload } from '../../src/refresh-seal.ts'
import { importStateKeys } from '../../src/state.ts'

const SECRET = 'refresh-seal-test-secret-0123456789abcdef-0000'
const OTHER_SECRET = 'refresh-seal-test-secret-0123456789abcdef-1111'
const encoder = new TextEncoder()
const PAYLOAD: RefreshPayload = {
  unityRefreshToken: '0f7d9c8e-1b2a-4c3d-9e8f-7a6b5c4d3e2f',
  grantId: 'AAECAwQFBgcICQoLDA0ODw',
  generation: 0,
  scope: 'api',
  issuedAt: 1_800_000_000,
}
const JKT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'

/** What a refused open says: its description and the reason kept for the log. */
async function refusal(keys: Awaited<ReturnType<typeof importRefreshSealKeys>>, token: string): Promise<{ description: string; reason: string }> {
  try {
    await openRefreshToken(keys, token)
  } catch (error) {
    if (error instanceof RelayError && error.code === 'invalid_grant' && error.cause instanceof RefreshTokenRefusal) return { description: error.description, reason: error.cause.reason }
    throw error
  }
  throw new Error('the token opened')
}

/** The AES key as docs/security.md documents it, derived here without the relay's code. */
async function documentedKey(secret: string): Promise<{ key: CryptoKey; kid: string }> {
  const material = await crypto.subtle.importKey('raw', encoder.encode(secret), 'HKDF', false, ['deriveKey', 'deriveBits'])
  const salt = encoder.encode('unity-oauth-relay refresh-token seal')
  const key = await crypto.subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt, info: encoder.encode('unity-oauth-relay v1 refresh-token seal: AES-256-GCM key') }, material, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'])
  const kid = toBase64Url(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info: encoder.encode('unity-oauth-relay v1 refresh-token seal: key id') }, material, 48))
  return { key, kid }
}

/** Seals arbitrary plaintext with the documented key, to reach the checks behind the tag. */
async function sealRaw(secret: string, plaintext: string): Promise<string> {
  const { key, kid } = await documentedKey(secret)
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: encoder.encode(`v1.${kid}`) }, key, encoder.encode(plaintext)))
  const sealed = new Uint8Array(12 + ciphertext.length)
  sealed.set(iv)
  sealed.set(ciphertext, 12)
  return `v1.${kid}.${toBase64Url(sealed)}`
}

describe('sealRefreshToken / openRefreshToken', () => {
  it('round-trips a payload with and without a DPoP thumbprint, in one spelling each', async () => {
    const keys = await importRefreshSealKeys([SECRET])
    const opened = await openRefreshToken(keys, await sealRefreshToken(keys, PAYLOAD))
    expect(opened).toEqual(PAYLOAD)
    expect('jkt' in opened).toBe(false)
    const bound = { ...PAYLOAD, generation: 41, scope: '', jkt: JKT }
    expect(await openRefreshToken(keys, await sealRefreshToken(keys, bound))).toEqual(bound)
    const odd = { ...PAYLOAD, unityRefreshToken: 'é"\\\u0000\uD800 𝄞' }
    expect(await openRefreshToken(keys, await sealRefreshToken(keys, odd))).toEqual(odd)
  })

  it('follows the documented format: HKDF-SHA256 keys from the salt and infos, a fresh 96-bit IV, and v1.<kid> as the AAD', async () => {
    expect([REFRESH_SEAL_HKDF_SALT, REFRESH_SEAL_KEY_INFO, REFRESH_SEAL_KID_INFO]).toEqual([
      'unity-oauth-relay refresh-token seal',
      'unity-oauth-relay v1 refresh-token seal: AES-256-GCM key',
      'unity-oauth-relay v1 refresh-token seal: key id',
    ])
    const keys = await importRefreshSealKeys([SECRET])
    const { key, kid } = await documentedKey(SECRET)
    expect(keys.current.kid).toBe(kid)
    const token = await sealRefreshToken(keys, PAYLOAD)
    const [version, tokenKid, body = ''] = token.split('.')
    expect([version, tokenKid]).toEqual(['v1', kid])
    const sealed = fromBase64Url(body)!
    const open = (additionalData?: Uint8Array) =>
      crypto.subtle.decrypt({ name: 'AES-GCM', iv: sealed.subarray(0, 12), ...(additionalData ? { additionalData } : {}) }, key, sealed.subarray(12))
    const plaintext = new TextDecoder().decode(await open(encoder.encode(`v1.${kid}`)))
    expect(JSON.parse(plaintext)).toEqual([PAYLOAD.unityRefreshToken, PAYLOAD.grantId, 0, 'api', PAYLOAD.issuedAt])
    // RFC 5116 §2.1: the prefix is authenticated, so without it (or with another) nothing opens.
    await expect(open()).rejects.toThrow()
    await expect(open(encoder.encode(`v2.${kid}`))).rejects.toThrow()
    const again = fromBase64Url((await sealRefreshToken(keys, PAYLOAD)).split('.')[2]!)!
    expect(toBase64Url(again.subarray(0, 12))).not.toBe(toBase64Url(sealed.subarray(0, 12)))
  })

  it('derives the key id apart from the AEAD key and from the state key id of the same secret', async () => {
    const seal = await importRefreshSealKeys([SECRET])
    const state = await importStateKeys([SECRET])
    expect(seal.current.kid).toMatch(/^[A-Za-z0-9_-]{8}$/)
    expect(seal.current.kid).not.toBe(state.current.kid)
    expect(seal.current.key.extractable).toBe(false)
    expect(seal.current.key.algorithm).toEqual({ name: 'AES-GCM', length: 256 })
    expect((await importRefreshSealKeys([OTHER_SECRET])).current.kid).not.toBe(seal.current.kid)
  })

  it('keeps a sealed token of a typical Unity refresh token well under 400 characters', async () => {
    const keys = await importRefreshSealKeys([SECRET])
    const lengths: Record<string, number> = {}
    for (const size of [36, 64]) {
      const unityRefreshToken = 'r'.repeat(size)
      lengths[size] = (await sealRefreshToken(keys, { ...PAYLOAD, unityRefreshToken, generation: 999_999, scope: 'api read write' })).length
      lengths[`${size}+jkt`] = (await sealRefreshToken(keys, { ...PAYLOAD, unityRefreshToken, generation: 999_999, scope: 'api read write', jkt: JKT })).length
    }
    expect(lengths).toEqual({ 36: 183, '36+jkt': 244, 64: 220, '64+jkt': 282 })
  })

  it('refuses to seal what /token would refuse back: the longest accepted token is at most 4,096 characters', async () => {
    const keys = await importRefreshSealKeys([SECRET])
    const sealedLength = async (size: number) => (await sealRefreshToken(keys, { ...PAYLOAD, unityRefreshToken: 'r'.repeat(size) })).length
    let longest = 2900
    while (await sealedLength(longest + 1).catch(() => Infinity) <= MAX_REFRESH_TOKEN_LENGTH) longest++
    expect(await sealedLength(longest)).toBeGreaterThan(MAX_REFRESH_TOKEN_LENGTH - 4)
    await expect(sealedLength(longest + 1)).rejects.toMatchObject({ code: 'upstream_invalid_response' })
    await expect(sealRefreshToken(keys, { ...PAYLOAD, unityRefreshToken: '' })).rejects.toMatchObject({ code: 'upstream_invalid_response' })
  })

  it('opens tokens of the previous key and seals with the current one', async () => {
    const before = await importRefreshSealKeys([OTHER_SECRET])
    const old = await sealRefreshToken(before, PAYLOAD)
    const rotated = await importRefreshSealKeys([SECRET, OTHER_SECRET])
    expect(await openRefreshToken(rotated, old)).toEqual(PAYLOAD)
    expect((await sealRefreshToken(rotated, PAYLOAD)).split('.')[1]).toBe(rotated.current.kid)
    expect(await refusal(await importRefreshSealKeys([SECRET]), old)).toEqual({
      reason: 'unknown_key',
      description: 'This refresh token was sealed with a key the relay no longer holds. Sign in again.',
    })
  })

  it('says which check failed: not the relay’s, a key gone, or damaged', async () => {
    const keys = await importRefreshSealKeys([SECRET])
    const token = await sealRefreshToken(keys, PAYLOAD)
    const notSealed = 'This refresh token was not issued by this relay; a raw Unity refresh token is not accepted. Sign in again.'
    const damaged = 'This refresh token is damaged or forged. Sign in again.'
    for (const raw of ['', 'rt-456', PAYLOAD.unityRefreshToken, 'v1', 'v1..', `v1.${keys.current.kid}`, `v1.${keys.current.kid}.`, `v1.${keys.current.kid}.a.b`, `V1${token.slice(2)}`, ` ${token}`, `${token}\n`, `${token}=`, 'x'.repeat(5000), `${token}${'A'.repeat(MAX_REFRESH_TOKEN_LENGTH)}`]) {
      expect(await refusal(keys, raw), raw.slice(0, 20)).toEqual({ reason: 'not_sealed', description: notSealed })
    }
    for (const broken of [token.slice(0, 13), token.slice(0, 40), token.slice(0, -1), `${token}A`, token.slice(0, -2) + (token.at(-2) === 'A' ? 'B' : 'A'), `v1.${keys.current.kid}.${'A'.repeat(40)}`]) {
      expect(await refusal(keys, broken)).toEqual({ reason: 'damaged', description: damaged })
    }
  })

  it('refuses authenticated plaintext that is not a v1 payload, as damaged', async () => {
    const keys = await importRefreshSealKeys([SECRET])
    const good = JSON.stringify([PAYLOAD.unityRefreshToken, PAYLOAD.grantId, 0, 'api', PAYLOAD.issuedAt])
    expect(await openRefreshToken(keys, await sealRaw(SECRET, good))).toEqual(PAYLOAD)
    for (const plaintext of [
      '[]', '{}', 'not json', '"rt"', `${good} x`,
      '["",  "AAECAwQFBgcICQoLDA0ODw", 0, "api", 1]',
      '["rt", "short", 0, "api", 1]',
      '["rt", "AAECAwQFBgcICQoLDA0ODw", -1, "api", 1]',
      '["rt", "AAECAwQFBgcICQoLDA0ODw", 1.5, "api", 1]',
      '["rt", "AAECAwQFBgcICQoLDA0ODw", "0", "api", 1]',
      '["rt", "AAECAwQFBgcICQoLDA0ODw", 0, null, 1]',
      '["rt", "AAECAwQFBgcICQoLDA0ODw", 0, "api", 1e300]',
      '["rt", "AAECAwQFBgcICQoLDA0ODw", 0, "api", 1, null]',
      '["rt", "AAECAwQFBgcICQoLDA0ODw", 0, "api", 1, "not-a-thumbprint"]',
      `["rt", "AAECAwQFBgcICQoLDA0ODw", 0, "api", 1, "${JKT}", 7]`,
    ]) {
      expect((await refusal(keys, await sealRaw(SECRET, plaintext))).reason, plaintext).toBe('damaged')
    }
    const invalidUtf8 = await (async () => {
      const { key, kid } = await documentedKey(SECRET)
      const iv = new Uint8Array(12)
      const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: encoder.encode(`v1.${kid}`) }, key, new Uint8Array([0x5b, 0xff, 0x5d])))
      return `v1.${kid}.${toBase64Url(new Uint8Array([...iv, ...ciphertext]))}`
    })()
    expect((await refusal(keys, invalidUtf8)).reason).toBe('damaged')
  })

  it('makes grant ids of 128 random bits', () => {
    const ids = new Set(Array.from({ length: 100 }, newGrantId))
    expect(ids.size).toBe(100)
    for (const id of ids) expect(fromBase64Url(id)?.length).toBe(16)
  })
})
