/**
 * The table-based base64url codec: RFC 4648 vectors, round trips at every length, and a strict
 * decoder that accepts only the canonical spelling.
 */
import { describe, expect, it } from 'vitest'
import { fromBase64Url, toBase64Url } from '../../src/base64url.ts'

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
})
