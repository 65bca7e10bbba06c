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

/** A user code in stored form, as device records are keyed: {@link USER_CODE_LENGTH} letters of the alphabet, no dash. */
export const STORED_USER_CODE_PATTERN = new RegExp(`^[${USER_CODE_ALPHABET}]{${USER_CODE_LENGTH}}$`)

/** A user code as the user sees it, `XXXX-XXXX`: the stored form with a dash in the middle. */
export const SHOWN_USER_CODE_PATTERN = new RegExp(`^[${USER_CODE_ALPHABET}]{${USER_CODE_LENGTH / 2}}-[${USER_CODE_ALPHABET}]{${USER_CODE_LENGTH / 2}}$`)

const DOMAIN = 'unity-oauth-relay user code:'
const encoder = new TextEncoder()

/** The stored code the first {@link USER_CODE_LENGTH} bytes spell: each byte's remainder by 20 picks a letter. */
function codeFromBytes(bytes: Uint8Array): string {
  let code = ''
  for (let i = 0; i < USER_CODE_LENGTH; i++) code += USER_CODE_ALPHABET[(bytes[i] ?? 0) % USER_CODE_ALPHABET.length]
  return code
}

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
  return displayUserCode(await storedUserCodeFor(challenge))
}

/** The user code in stored form ({@link STORED_USER_CODE_PATTERN}), as device records are keyed. */
export async function storedUserCodeFor(challenge: string): Promise<string> {
  return codeFromBytes(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(DOMAIN + challenge))))
}

/**
 * Reads a user code as a person typed it (RFC 8628 §6.1: case, dashes and spaces don't matter) and
 * returns it in stored form, or `null` if it cannot be a user code.
 */
export function normalizeUserCode(input: string): string | null {
  if (input.length > 32) return null
  const code = input.toUpperCase().replace(/[\s-]/g, '')
  return STORED_USER_CODE_PATTERN.test(code) ? code : null
}

/** `XXXX-XXXX`, as the user sees it, from a stored code. */
export function displayUserCode(stored: string): string {
  return `${stored.slice(0, USER_CODE_LENGTH / 2)}-${stored.slice(USER_CODE_LENGTH / 2)}`
}

/**
 * `count` random user codes, shown as `XXXX-XXXX`, none equal to `real` or to each other: the
 * decoys among which a user picks the code their app shows.
 */
export function decoyUserCodes(real: string, count: number): string[] {
  const taken = new Set([real])
  const decoys: string[] = []
  while (decoys.length < count) {
    // Drawn as a real code is, so a decoy's letters are as likely as the real one's.
    const shown = displayUserCode(codeFromBytes(crypto.getRandomValues(new Uint8Array(USER_CODE_LENGTH))))
    if (taken.has(shown)) continue
    taken.add(shown)
    decoys.push(shown)
  }
  return decoys
}
