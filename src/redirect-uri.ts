/**
 * @module
 * The app redirect URIs a standard authorization request (RFC 6749 §4.1) may name: loopback
 * addresses on any port (RFC 8252 §7.3, §8.3) and the exact URIs of `APP_REDIRECT_URIS`, https
 * or private-use schemes (RFC 8252 §7.1, RFC 9700 §4.1.3). Only a URI that passes is ever
 * redirected to; anything else gets the relay's own error page (RFC 6749 §4.1.2.1).
 */

/** Longest `redirect_uri` accepted, so oversized input is refused before it is parsed. */
export const MAX_REDIRECT_URI_LENGTH = 512

/** What the relay accepts app redirect URIs from. */
export interface RedirectPolicy {
  /** `LOOPBACK_REDIRECTS=on`: `http://127.0.0.1`, `http://[::1]` and `http://localhost` on any port. */
  readonly loopback: boolean
  /** `APP_REDIRECT_URIS`: exact https and private-use URIs, already checked by {@link checkAllowlistedRedirectUri}. */
  readonly allowlist: readonly string[]
}

/** An accepted app redirect URI, and what the confirmation page tells the user about it. */
export type AppRedirect =
  /** An app on the user's own computer, listening on `port`. */
  | { readonly kind: 'loopback'; readonly uri: string; readonly port: string }
  /** The app's own server at `host`. */
  | { readonly kind: 'https'; readonly uri: string; readonly host: string }
  /** An app that claimed `scheme` on the user's device. */
  | { readonly kind: 'private-use'; readonly uri: string; readonly scheme: string }

/** RFC 8252 §7.3 and §8.3: the loopback host names a native app may listen on. */
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', '[::1]', 'localhost'])

/** RFC 8252 §7.1: a private-use scheme is a reverse domain name, so it holds a dot. RFC 3986 §3.1 scheme characters. */
const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+$/

/**
 * The app redirect `raw` names, if the policy allows it, else `null`. The raw value must be the
 * URI's canonical spelling, so that what the relay compares at `/token` and what the browser
 * goes to are one string: `HTTP://`, `127.1`, `127.0.0.1.evil.example`, userinfo, backslashes,
 * `..` and `%2e%2e` segments and any other spelling the URL parser would repair are refused.
 */
export function checkAppRedirectUri(raw: string, policy: RedirectPolicy): AppRedirect | null {
  if (raw.length === 0 || raw.length > MAX_REDIRECT_URI_LENGTH) return null
  // RFC 6749 §3.1.2: a redirection endpoint URI must not include a fragment.
  if (raw.includes('#')) return null
  if (policy.allowlist.includes(raw)) return allowlisted(raw)
  if (!policy.loopback || !raw.startsWith('http://')) return null
  const url = URL.parse(raw)
  if (url === null || url.protocol !== 'http:' || !LOOPBACK_HOSTS.has(url.hostname) || url.username !== '' || url.password !== '') return null
  // The parser's serialisation is the canonical spelling; a bare origin stands for its `/`.
  const canonical = raw === url.href || (raw === url.origin && url.pathname === '/' && url.search === '')
  return canonical ? { kind: 'loopback', uri: raw, port: url.port === '' ? '80' : url.port } : null
}

/**
 * Why an `APP_REDIRECT_URIS` entry is not allowed, or `undefined` when it is: an https URI or a
 * private-use scheme URI (RFC 8252 §7.1), in canonical spelling, without fragment or userinfo.
 * Plain http is refused: loopback addresses are `LOOPBACK_REDIRECTS`' business, and any other
 * http redirect would carry the code in clear (RFC 6749 §3.1.2.1).
 */
export function checkAllowlistedRedirectUri(entry: string): string | undefined {
  const url = entry.length <= MAX_REDIRECT_URI_LENGTH ? URL.parse(entry) : null
  if (url === null || url.href !== entry || entry.includes('#') || url.username !== '' || url.password !== '') {
    return 'must hold absolute URIs in canonical form (as the URL parser writes them), without fragment or credentials'
  }
  if (url.protocol === 'https:') return url.hostname === '' ? 'must name a host in each https URI' : undefined
  if (url.protocol === 'http:') return 'must not hold http URIs: loopback redirects are LOOPBACK_REDIRECTS’, and others would carry the code in clear'
  return PRIVATE_USE_SCHEME.test(url.protocol.slice(0, -1)) ? undefined : 'must use https or a private-use scheme that is a reverse domain name, e.g. com.example.app:/callback'
}

/**
 * `uri` with `params` added to its query, which is kept byte for byte (RFC 6749 §3.1.2: the
 * endpoint's own query must be retained); `params` are form-encoded as URLSearchParams writes them.
 */
export function withQuery(uri: string, params: Readonly<Record<string, string | undefined>>): string {
  const added = new URLSearchParams()
  for (const name in params) {
    const value = params[name]
    if (value !== undefined) added.append(name, value)
  }
  const query = added.toString()
  const at = uri.indexOf('?')
  // The query is what follows the first `?`; an empty one, or one ending in `&`, takes the parameters as they are.
  const separator = at < 0 ? '?' : at === uri.length - 1 || uri.endsWith('&') ? '' : '&'
  return `${uri}${separator}${query}`
}

/**
 * The CSP source a page needs in `form-action` for a browser that a form post ends up sending to
 * `redirect` (Chromium checks every redirect of a form's navigation against it). CSP host sources
 * cannot spell an IPv6 literal (CSP3 §2.3.1), so `[::1]` needs the `http:` scheme.
 */
export function formActionSource(redirect: AppRedirect): string {
  if (redirect.kind === 'private-use') return `${redirect.scheme}:`
  const origin = new URL(redirect.uri).origin
  return origin.startsWith('http://[') ? 'http:' : origin
}

function allowlisted(uri: string): AppRedirect {
  const url = new URL(uri)
  if (url.protocol === 'https:') return { kind: 'https', uri, host: url.host }
  return { kind: 'private-use', uri, scheme: url.protocol.slice(0, -1) }
}
