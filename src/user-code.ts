/**
 * @module
 * The user code shown on the confirmation page. It is derived from the PKCE `code_challenge`, so
 * an app can show the same code without asking the relay, and the relay stores nothing for it.
 * Web APIs only: apps can import this module on any runtime.
 */

/** RFC 8628 §6.1: 20 consonants, no vowels (no words) and no look-alike digits. */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ'

/** Characters in a user code, without the dash. */
export const USER_CODE_LENGTH = 8

const DOMAIN = 'unity-oauth-relay user code:'
const encoder = new TextEncoder()

/**
 * The user code for a flow, shown as `XXXX-XXXX`.
 *
 * `d = SHA-256(UTF-8("unity-oauth-relay user code:" + code_challenge))`; character *i* (0..7) is
 * `USER_CODE_ALPHABET[d[i] % 20]`.
 *
 * @example
 * await userCodeFor('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM') // 'BGBP-FFBB' (RFC 7636 Appendix B's challenge)
 */
export async function userCodeFor(challenge: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(DOMAIN + challenge)))
  let code = ''
  for (let i = 0; i < USER_CODE_LENGTH; i++) code += USER_CODE_ALPHABET[(digest[i] ?? 0) % USER_CODE_ALPHABET.length]
  return displayUserCode(code)
}

/** The user code in stored form (8 letters, no dash), as device records are keyed. */
export async function storedUserCodeFor(challenge: string): Promise<string> {
  return (await userCodeFor(challenge)).replace('-', '')
}

/**
 * Reads a user code as a person typed it (RFC 8628 §6.1: case, dashes and spaces don't matter) and
 * returns it in stored form, 8 letters without the dash, or `null` if it cannot be a user code.
 */
export function normalizeUserCode(input: string): string | null {
  if (input.length > 32) return null
  const code = input.toUpperCase().replace(/[\s-]/g, '')
  if (code.length !== USER_CODE_LENGTH) return null
  for (const char of code) if (!USER_CODE_ALPHABET.includes(char)) return null
  return code
}

/** `XXXX-XXXX`, as the user sees it, from a stored 8-letter code. */
export function displayUserCode(stored: string): string {
  return `${stored.slice(0, 4)}-${stored.slice(4)}`
}

/**
 * `count` random user codes, shown as `XXXX-XXXX`, none equal to `real` or to each other: the
 * decoys among which a user picks the code their app shows.
 */
export function decoyUserCodes(real: string, count: number): string[] {
  const taken = new Set([real])
  const decoys: string[] = []
  while (decoys.length < count) {
    const bytes = crypto.getRandomValues(new Uint8Array(USER_CODE_LENGTH))
    let code = ''
    // The same remainder of a byte as userCodeFor takes, so a decoy is drawn like a real code.
    for (const byte of bytes) code += USER_CODE_ALPHABET[byte % USER_CODE_ALPHABET.length]
    const shown = displayUserCode(code)
    if (taken.has(shown)) continue
    taken.add(shown)
    decoys.push(shown)
  }
  return decoys
}
