/**
 * @module
 * Browser binding (RFC 6749 §10.12, RFC 9700 §2.1): `/authorize` gives the browser a random
 * nonce in a `__Host-` cookie and puts only its hash in the state, so a callback is accepted
 * only from the browser that started the flow.
 */
import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { sha256Base64Url, toBase64Url } from './base64url.ts'
import { RelayError } from './errors.ts'

/** Cookie names are `__Host-` + this prefix + part of the nonce hash. */
export const BINDING_COOKIE_PREFIX = 'uor-'

/** A fresh binding: the nonce goes to the cookie, the hash into the state. */
export interface Binding {
  readonly nonce: string
  readonly hash: string
}

/** Makes a binding from 32 random bytes. */
export async function createBinding(): Promise<Binding> {
  const nonce = toBase64Url(crypto.getRandomValues(new Uint8Array(32)))
  return { nonce, hash: await bindingHash(nonce) }
}

/**
 * The flow's cookie name (without `__Host-`). It differs per flow, so two logins in two tabs
 * each keep their own cookie.
 */
export function bindingCookieName(hash: string): string {
  return BINDING_COOKIE_PREFIX + hash.slice(0, 12)
}

/** Sets the binding cookie for `maxAgeSeconds`. */
export function setBindingCookie(c: Context, binding: Binding, maxAgeSeconds: number): void {
  // __Host- forces Secure, Path=/ and no Domain; SameSite=Lax still sends it on Unity's top-level redirect back.
  setCookie(c, bindingCookieName(binding.hash), binding.nonce, {
    prefix: 'host',
    httpOnly: true,
    secure: true,
    sameSite: 'Lax',
    path: '/',
    maxAge: maxAgeSeconds,
  })
}

/**
 * Checks that this browser holds the nonce whose hash the state carries, and keeps the cookie for
 * the rest of the flow (the confirmation POST, then the callback).
 *
 * @throws {RelayError} `browser_mismatch`.
 */
export async function verifyBindingCookie(c: Context, expectedHash: string): Promise<void> {
  await checkNonce(getCookie(c, bindingCookieName(expectedHash), 'host'), expectedHash)
}

/**
 * Checks the binding like {@link verifyBindingCookie}, and clears the cookie.
 *
 * @throws {RelayError} `browser_mismatch`.
 */
export async function consumeBindingCookie(c: Context, expectedHash: string): Promise<void> {
  const nonce = getCookie(c, bindingCookieName(expectedHash), 'host')
  // The binding is single-use: the cookie goes whatever the outcome.
  if (nonce !== undefined) clearBindingCookie(c, expectedHash)
  await checkNonce(nonce, expectedHash)
}

/** Clears the flow's cookie once the flow has ended. */
export function clearBindingCookie(c: Context, hash: string): void {
  deleteCookie(c, bindingCookieName(hash), { prefix: 'host', path: '/', secure: true })
}

async function checkNonce(nonce: string | undefined, expectedHash: string): Promise<void> {
  if (nonce === undefined) {
    throw new RelayError('browser_mismatch', 'It was already finished, or it was started in another browser. Go back to the app and start again.')
  }
  // Comparing hashes, not nonces: the expected value is public (it travels in the state).
  if ((await bindingHash(nonce)) !== expectedHash) {
    throw new RelayError('browser_mismatch', 'It was started in another browser. Go back to the app and start again.')
  }
}

async function bindingHash(nonce: string): Promise<string> {
  return (await sha256Base64Url(`binding:${nonce}`)).slice(0, 22)
}
