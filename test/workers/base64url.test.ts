/**
 * The table-based base64url codec: RFC 4648 vectors, round trips at every length, and a strict
 * decoder that accepts only the canonical spelling.
 */
import { describe, expect, it } from 'vitest'
import { asciiToBase64Url, base64UrlDecodedLength, decodeBase64UrlInto, fromBase64Url, toBase64Url } from '../../src/base64url.ts'

const text = (value: string) => new TextEncoder().encode(value)

describe('base64url', () => {
  it('encodes and decodes the RFC 4648 §10 vectors, unpadded', () => {
    const vectors: [string, string][] = [['', ''], ['f', 'Zg'], ['fo', 'Zm8'], ['foo', 'Zm9v'], ['foob', 'Zm9vYg'], ['fooba', 'Zm9vYmE'], ['foobar', 'Zm9vYmFy']]
    for (const [plain, encoded] of vectors) {
      expect(toBase64Url(text(plain))).toBe(encoded)
      expect(fromBase64Url(encoded)).toEqual(text(plain))
    }
    // The URL-safe alphabet (RFC 4648 §5): 0xfb 0xff 0xbf uses both of its extra characters.
    expect(toBase64Url(new Uint8Array([0xfb, 0xff, 0xbf]))).toBe('-_-_')
    expect(toBase64Url(new Uint8Array([0xfb, 0xff, 0xbf]).buffer)).toBe('-_-_')
  })

  it('round-trips random bytes of every length up to 100', () => {
    for (let length = 0; length <= 100; length++) {
      const bytes = crypto.getRandomValues(new Uint8Array(length))
      const encoded = toBase64Url(bytes)
      expect(encoded).toMatch(/^[A-Za-z0-9_-]*$/)
      expect(fromBase64Url(encoded)).toEqual(bytes)
    }
  })

  it('accepts only the canonical spelling', () => {
    // Padding, the standard alphabet, whitespace, non-ASCII and an impossible length.
    for (const bad of ['Zg==', 'Zm8=', '+/+/', 'Zm9v Yg', 'Zm9vYé', 'Z', 'Zm9vY']) expect(fromBase64Url(bad), bad).toBeNull()
    // Non-zero unused bits: 'Zh' and 'Zm9' also decode to 'f' and 'fo' with a lax decoder.
    for (const bad of ['Zh', 'Zp', 'Zm9', 'Zm-']) expect(fromBase64Url(bad), bad).toBeNull()
  })

  it('encodes ASCII text exactly as its UTF-8 bytes, at every length, and refuses anything else', () => {
    const ascii = Array.from({ length: 128 }, (_, code) => String.fromCharCode(code)).join('')
    for (let length = 0; length <= 128; length++) {
      const sample = ascii.slice(128 - length) // every character, the last ones at odd offsets too
      expect(asciiToBase64Url(sample)).toBe(toBase64Url(text(sample)))
    }
    for (const outside of ['é', 'aé', 'abé', 'abcé', '€', '\u0080', 'x\u{1F600}']) expect(asciiToBase64Url(outside), outside).toBeNull()
  })

  it('decodes into a caller\'s buffer only at the exact length, with the same strictness', () => {
    for (let length = 0; length <= 40; length++) {
      const bytes = crypto.getRandomValues(new Uint8Array(length))
      const encoded = toBase64Url(bytes)
      expect(base64UrlDecodedLength(encoded)).toBe(length)
      const target = new Uint8Array(length)
      expect(decodeBase64UrlInto(encoded, target)).toBe(true)
      expect(target).toEqual(bytes)
      expect(decodeBase64UrlInto(encoded, new Uint8Array(length + 1))).toBe(false)
    }
    expect(base64UrlDecodedLength('Z')).toBe(-1)
    for (const bad of ['Zh', 'Zm9', 'Zm9v Yg', 'Zm9vYé']) expect(decodeBase64UrlInto(bad, new Uint8Array(Math.max(0, base64UrlDecodedLength(bad)))), bad).toBe(false)
  })
})
