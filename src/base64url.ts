/**
 * @module
 * Canonical, unpadded base64url (RFC 4648 §5) on top of Hono's encoder.
 */
import { decodeBase64Url, encodeBase64Url } from 'hono/utils/encode'

const ALPHABET = /^[A-Za-z0-9_-]*$/

/** Encodes bytes as unpadded base64url. */
export function toBase64Url(bytes: ArrayBuffer | Uint8Array): string {
  return encodeBase64Url(bytes instanceof Uint8Array ? bytes.slice().buffer : bytes).replace(/=+$/, '')
}

/**
 * Decodes unpadded base64url, or returns `null`. Only the canonical encoding is accepted, so a
 * signed token has exactly one spelling and no character can be altered without detection.
 */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | null {
  if (!ALPHABET.test(text) || text.length % 4 === 1) return null
  try {
    const bytes = decodeBase64Url(text + '='.repeat((4 - (text.length % 4)) % 4))
    return toBase64Url(bytes) === text ? new Uint8Array(bytes) : null
  } catch {
    return null
  }
}

/** BASE64URL(SHA-256(ASCII(text))), the RFC 7636 §4.2 S256 transform. */
export async function sha256Base64Url(text: string): Promise<string> {
  return toBase64Url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)))
}
