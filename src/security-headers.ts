/**
 * @module
 * Security headers for every response: a fixed set, and a Content-Security-Policy that depends on
 * the response, because only an HTML page needs a per-response nonce (for its inline stylesheet)
 * and only a page with a form widens `form-action`.
 */
import { toBase64Url } from './base64url.ts'

/** Every response that is not an HTML page: nothing may load, submit or frame anything. */
export const API_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/**
 * An HTML page's policy: its own inline stylesheet, forms only to `formAction` (default none), and
 * with `script` its own inline script (the confirmation page's intent gate), under the same nonce.
 */
export function pageCsp(nonce: string, formAction = "'none'", script = false): string {
  const scripts = script ? ` script-src 'nonce-${nonce}';` : ''
  return `default-src 'none'; style-src 'nonce-${nonce}';${scripts} base-uri 'none'; form-action ${formAction}; frame-ancestors 'none'`
}

/** What {@link cspNonce} needs of a Hono context (kept structural, so this module imports no route types). */
interface NonceHolder {
  get(key: 'secureHeadersNonce'): string | undefined
  set(key: 'secureHeadersNonce', value: string): void
}

/**
 * This response's CSP nonce (128 random bits), made when a page first asks for it, so a JSON
 * answer or a redirect pays nothing for it. {@link setSecurityHeaders} puts it in the policy.
 */
export function cspNonce(c: NonceHolder): string {
  let nonce = c.get('secureHeadersNonce')
  if (nonce === undefined) {
    nonce = toBase64Url(crypto.getRandomValues(new Uint8Array(16)))
    c.set('secureHeadersNonce', nonce)
  }
  return nonce
}

/**
 * The headers every response carries: hono/secure-headers' defaults, with `Referrer-Policy:
 * no-referrer`, plus no caching. Set here in one pass on the finished response, where
 * hono/secure-headers asks `has()` before each `set()`: 0.78–0.91× its time per JSON request on
 * workerd and 0.77–0.87× on Deno (`bench/headers-micro.ts`). test/contract/hono-copies.cases.ts
 * fails when Hono's defaults stop being these.
 */
const FIXED_HEADERS: readonly (readonly [name: string, value: string])[] = [
  ['Cross-Origin-Resource-Policy', 'same-origin'],
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Origin-Agent-Cluster', '?1'],
  ['Strict-Transport-Security', 'max-age=15552000; includeSubDomains'],
  ['X-Content-Type-Options', 'nosniff'],
  ['X-DNS-Prefetch-Control', 'off'],
  ['X-Download-Options', 'noopen'],
  ['X-Frame-Options', 'SAMEORIGIN'],
  ['X-Permitted-Cross-Domain-Policies', 'none'],
  ['X-XSS-Protection', '0'],
  // RFC 6749 §5.1: responses carrying codes, tokens or cookies must not be cached.
  ['Cache-Control', 'no-store'],
  ['Pragma', 'no-cache'],
]

/**
 * RFC 9700 §4.2.4: the callback URL carries the code, so it must not leak via Referer. Every
 * response gets this policy unless it set its own (the confirmation page: same-origin).
 */
const DEFAULT_REFERRER_POLICY = 'no-referrer'

/** Every header a response that is not an HTML page carries, Content-Type aside. */
const API_HEADERS: readonly (readonly [name: string, value: string])[] = [
  ...FIXED_HEADERS,
  ['Referrer-Policy', DEFAULT_REFERRER_POLICY],
  ['Content-Security-Policy', API_CSP],
]

/** The per-isolate header lists {@link apiResponse} copies, one per content type. */
const templates = new Map<string, Headers>()
/** Marks a response made by {@link apiResponse}; a copy of it (Hono's, to add a header) is unmarked. */
const COMPLETE = Symbol('security headers set')
type Marked = Response & { [COMPLETE]?: true }

/**
 * A response that is not an HTML page, with every security header already in place. The headers
 * are copied from a list made once per isolate and content type: workerd copies a `Headers` in
 * one call where 14 `set()` calls cross into its C++ 14 times. `extra` (e.g. `Retry-After`) is
 * set on top.
 */
export function apiResponse(body: string, status: number, contentType: string, extra?: Readonly<Record<string, string>>): Response {
  let template = templates.get(contentType)
  if (template === undefined) {
    template = new Headers([...API_HEADERS, ['Content-Type', contentType]] as [string, string][])
    templates.set(contentType, template)
  }
  const response = new Response(body, { status, headers: template })
  if (extra !== undefined) for (const name in extra) response.headers.set(name, extra[name]!)
  ;(response as Marked)[COMPLETE] = true
  return response
}

/** Whether `response` came from {@link apiResponse} unchanged, so its security headers are set. */
export function hasSecurityHeaders(response: Response): boolean {
  return (response as Marked)[COMPLETE] === true
}

/**
 * Sets the security headers on a finished response, in place (`c.header()` after `next()` would
 * copy the whole Response). An HTML page made with `nonce` gets a policy allowing its stylesheet,
 * `formAction` and, with `script`, its inline script; anything else gets {@link API_CSP}.
 */
export function setSecurityHeaders(headers: Headers, nonce: string | undefined, formAction: string | undefined, script = false): void {
  const page = nonce !== undefined && headers.get('Content-Type')?.startsWith('text/html') === true
  for (const [name, value] of FIXED_HEADERS) headers.set(name, value)
  if (!headers.has('Referrer-Policy')) headers.set('Referrer-Policy', DEFAULT_REFERRER_POLICY)
  headers.set('Content-Security-Policy', page ? pageCsp(nonce, formAction, script) : API_CSP)
}
