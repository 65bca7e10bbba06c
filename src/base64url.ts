/**
 * @module
 * Canonical, unpadded base64url (RFC 4648 §5) with lookup tables, built once per isolate.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
/** Character code → 6-bit value, or -1 outside the alphabet. */
const VALUES = new Int8Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) VALUES[ALPHABET.charCodeAt(i)] = i
/** Every 12-bit value as its two characters, so encoding appends one string per 12 bits. */
const PAIRS: string[] = []
for (let i = 0; i < 4096; i++) PAIRS.push(ALPHABET[i >> 6]! + ALPHABET[i & 63]!)
const encoder = new TextEncoder()

/** Encodes bytes as unpadded base64url. */
export function toBase64Url(bytes: ArrayBuffer | Uint8Array): string {
  const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)
  const whole = data.length - (data.length % 3)
  let out = ''
  for (let i = 0; i < whole; i += 3) {
    const n = (data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!
    out += PAIRS[n >> 12]! + PAIRS[n & 4095]!
  }
  if (data.length - whole === 1) {
    out += PAIRS[data[whole]! << 4]!
  } else if (data.length - whole === 2) {
    const n = (data[whole]! << 8) | data[whole + 1]!
    out += PAIRS[n >> 4]! + ALPHABET[(n & 15) << 2]!
  }
  return out
}

/**
 * Base64url of `text`'s bytes when it is all ASCII (as JSON of ASCII values is), or `null`: one
 * pass over the characters, with no byte array in between.
 */
export function asciiToBase64Url(text: string): string | null {
  const whole = text.length - (text.length % 3)
  let out = ''
  for (let i = 0; i < whole; i += 3) {
    const a = text.charCodeAt(i)
    const b = text.charCodeAt(i + 1)
    const c = text.charCodeAt(i + 2)
    if ((a | b | c) > 127) return null
    const n = (a << 16) | (b << 8) | c
    out += PAIRS[n >> 12]! + PAIRS[n & 4095]!
  }
  const rest = text.length - whole
  if (rest === 0) return out
  const a = text.charCodeAt(whole)
  const b = rest === 2 ? text.charCodeAt(whole + 1) : 0
  if ((a | b) > 127) return null
  return rest === 1 ? out + PAIRS[a << 4]! : out + PAIRS[((a << 8) | b) >> 4]! + ALPHABET[(b & 15) << 2]!
}

/**
 * Decodes unpadded base64url, or returns `null`. Only the canonical encoding is accepted (no
 * padding, no other characters, unused trailing bits zero), so a signed token has exactly one
 * spelling and no character can be altered without detection.
 */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | null {
  const length = base64UrlDecodedLength(text)
  if (length < 0) return null
  const bytes = new Uint8Array(length)
  return decodeBase64UrlInto(text, bytes) ? bytes : null
}

/** How many bytes `text` decodes to, or -1 if no base64url text has its length. */
export function base64UrlDecodedLength(text: string): number {
  const tail = text.length % 4
  return tail === 1 ? -1 : ((text.length - tail) / 4) * 3 + (tail === 0 ? 0 : tail - 1)
}

/**
 * Decodes canonical unpadded base64url (as {@link fromBase64Url}) into `target`, whose length
 * must be {@link base64UrlDecodedLength}; false, with `target` partly written, if it is not.
 */
export function decodeBase64UrlInto(text: string, target: Uint8Array): boolean {
  const tail = text.length % 4
  if (tail === 1 || target.length !== base64UrlDecodedLength(text)) return false
  const whole = text.length - tail
  let at = 0
  for (let i = 0; i < whole; i += 4) {
    const a = text.charCodeAt(i)
    const b = text.charCodeAt(i + 1)
    const c = text.charCodeAt(i + 2)
    const d = text.charCodeAt(i + 3)
    if ((a | b | c | d) > 127) return false
    // An unknown character is -1, which makes the whole group negative.
    const n = (VALUES[a]! << 18) | (VALUES[b]! << 12) | (VALUES[c]! << 6) | VALUES[d]!
    if (n < 0) return false
    target[at++] = n >> 16
    target[at++] = (n >> 8) & 255
    target[at++] = n & 255
  }
  if (tail === 2) {
    const n = (value(text, whole) << 6) | value(text, whole + 1)
    // 12 bits carry 8: the 4 unused low bits must be zero (RFC 4648 §3.5, canonical encoding).
    if (n < 0 || (n & 15) !== 0) return false
    target[at] = n >> 4
  } else if (tail === 3) {
    const n = (value(text, whole) << 12) | (value(text, whole + 1) << 6) | value(text, whole + 2)
    // 18 bits carry 16: the 2 unused low bits must be zero.
    if (n < 0 || (n & 3) !== 0) return false
    target[at++] = n >> 10
    target[at] = (n >> 2) & 255
  }
  return true
}

/** The 6-bit value of the character at `index`, or -1, which makes any group it is shifted into negative. */
function value(text: string, index: number): number {
  const code = text.charCodeAt(index)
  return code < 128 ? VALUES[code]! : -1
}

/** BASE64URL(SHA-256(ASCII(text))), the RFC 7636 §4.2 S256 transform. */
export async function sha256Base64Url(text: string): Promise<string> {
  return toBase64Url(await crypto.subtle.digest('SHA-256', encoder.encode(text)))
}
