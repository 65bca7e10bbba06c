/**
 * @module
 * The app's side of PKCE (RFC 7636 §4.1–4.2), with web APIs only: used by the app script and by
 * the tests, which so never borrow the relay's own code.
 */

/** A fresh 43-character verifier from 32 random bytes. */
export function makeVerifier(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)))
}

/** BASE64URL(SHA-256(ASCII(verifier))). */
export async function challengeOf(verifier: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))))
}

function base64url(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}
