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
  return `${code.slice(0, 4)}-${code.slice(4)}`
}
