/**
 * @module
 * Security headers for every response. The fixed ones come from hono/secure-headers, computed
 * once per isolate; the Content-Security-Policy is set here, because only an HTML page needs a
 * per-response nonce (for its inline stylesheet) and only a page with a form widens `form-action`.
 */
import type { MiddlewareHandler } from 'hono'
import { secureHeaders } from 'hono/secure-headers'
import { toBase64Url } from './base64url.ts'
import type { RelayEnv } from './routes/deps.ts'

/** Every response that is not an HTML page: nothing may load, submit or frame anything. */
export const API_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** An HTML page's policy: its own inline stylesheet, and forms only to `formAction` (default none). */
export function pageCsp(nonce: string, formAction = "'none'"): string {
  return `default-src 'none'; style-src 'nonce-${nonce}'; base-uri 'none'; form-action ${formAction}; frame-ancestors 'none'`
}

/** A fresh CSP nonce: 128 random bits. */
export function newCspNonce(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(16)))
}

/**
 * The fixed security headers. A route may set its own `Referrer-Policy` (the confirmation page
 * needs `same-origin`), so existing headers are kept.
 */
export const fixedSecurityHeaders = (): MiddlewareHandler<RelayEnv> =>
  secureHeaders({
    // RFC 9700 §4.2.4: the callback URL carries the code, so it must not leak via Referer.
    referrerPolicy: 'no-referrer',
    overwrite: false,
  })
