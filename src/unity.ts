/**
 * @module
 * Everything the relay says to Unity: the authorization URL and the token endpoint calls.
 * `fetch` is injected, so tests play Unity with a strict stub and later work can inject faults.
 */
import type { Config } from './config.ts'
import { RelayError } from './errors.ts'
import type { RelayErrorCode } from './errors.ts'

/** How a token call ended. Unity's body is kept verbatim on success. */
export type TokenOutcome =
  | { readonly kind: 'tokens'; readonly body: string }
  /** Unity gave a final answer: the code is spent or the request is wrong. */
  | { readonly kind: 'rejected'; readonly error: RelayError }
  /**
   * Unity did not act on the code or refresh token: it could not be reached, failed (network
   * error, timeout, 5xx), sent an answer the relay cannot read (a redirect, a page, an oversized
   * body), or refused the relay's own client credentials, which it checks before the grant
   * (RFC 6749 §3.2.1). The code stays: a code that was spent after all only earns the retry
   * Unity's `invalid_grant`.
   */
  | { readonly kind: 'unavailable'; readonly error: RelayError }

/** Parameters of {@link UnityClient.authorizeUrl}. */
export interface AuthorizeUrlParams {
  readonly redirectUri: string
  readonly scope: string
  readonly state: string
  readonly challenge: string
}

/** Talks to one Unity server with the relay's client credentials. */
export interface UnityClient {
  /** `${UNITY_URL}/api/oauth/authorize?…` for the user's browser. */
  authorizeUrl(params: AuthorizeUrlParams): string
  /** RFC 6749 §4.1.3 code exchange, with the app's verifier when PKCE is on. */
  exchangeCode(params: { code: string; redirectUri: string; verifier: string }): Promise<TokenOutcome>
  /** RFC 6749 §6 refresh. */
  refresh(params: { refreshToken: string; scope: string | undefined }): Promise<TokenOutcome>
}

/** Options of {@link createUnityClient}. */
export interface UnityClientOptions {
  readonly config: Config
  readonly fetch: typeof fetch
  /** Abort a token call after this long; default 10 s. */
  readonly timeoutMs?: number
}

/** Builds the {@link UnityClient} for a config. */
export function createUnityClient({ config, fetch, timeoutMs = 10_000 }: UnityClientOptions): UnityClient {
  const authorization = config.tokenAuth === 'client_secret_basic' ? basicAuthorization(config.clientId, config.clientSecret) : undefined
  // The fixed part of the authorize URL, once per isolate: the endpoint as the URL API serialises it.
  const authorizePrefix = `${new URL(config.authorizeEndpoint).href}?response_type=code&client_id=${formEncode(config.clientId)}&redirect_uri=`

  const callTokenEndpoint = async (params: Record<string, string>): Promise<TokenOutcome> => {
    const body = new URLSearchParams(params)
    const headers = new Headers({ 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' })
    if (authorization !== undefined) {
      headers.set('Authorization', authorization)
    } else {
      body.set('client_id', config.clientId)
      body.set('client_secret', config.clientSecret)
    }
    const grant = params.grant_type === 'refresh_token' ? 'refresh_token' : 'authorization_code'
    let response: Response
    try {
      response = await fetch(config.tokenEndpoint, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      })
    } catch (cause) {
      return unavailable('The relay could not reach Unity. Try again shortly.', cause)
    }
    return readTokenResponse(response, grant)
  }

  return {
    authorizeUrl({ redirectUri, scope, state, challenge }) {
      // One string, byte for byte what URLSearchParams would serialise, without re-parsing the URL.
      const url = `${authorizePrefix}${formEncode(redirectUri)}&scope=${formEncode(scope)}&state=${formEncode(state)}`
      return config.pkce === 'S256' ? `${url}&code_challenge=${formEncode(challenge)}&code_challenge_method=S256` : url
    },
    exchangeCode({ code, redirectUri, verifier }) {
      const params: Record<string, string> = { grant_type: 'authorization_code', code, redirect_uri: redirectUri }
      if (config.pkce === 'S256') params.code_verifier = verifier
      return callTokenEndpoint(params)
    },
    refresh({ refreshToken, scope }) {
      return callTokenEndpoint({ grant_type: 'refresh_token', refresh_token: refreshToken, ...(scope === undefined ? {} : { scope }) })
    },
  }
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding. */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  const credentials = new TextEncoder().encode(`${formEncode(clientId)}:${formEncode(clientSecret)}`)
  return `Basic ${btoa(String.fromCharCode(...credentials))}`
}

/** Characters the application/x-www-form-urlencoded serializer leaves as they are (WHATWG URL §5.2). */
const FORM_SAFE = /^[A-Za-z0-9*._-]*$/

/**
 * Encodes a value exactly as `URLSearchParams` serialises it: UTF-8 percent-encoding of all but
 * `A-Z a-z 0-9 * - . _`, and space as `+`.
 */
export function formEncode(value: string): string {
  if (FORM_SAFE.test(value)) return value
  try {
    return encodeURIComponent(value).replace(/%20|[!'()~]/g, (match) => (match === '%20' ? '+' : `%${match.charCodeAt(0).toString(16).toUpperCase()}`))
  } catch {
    // A lone surrogate: URLSearchParams writes it as U+FFFD, which it does for us here.
    return new URLSearchParams([['', value]]).toString().slice(1)
  }
}

/** The grant a token call carries, which decides what an `invalid_grant` is about. */
type Grant = 'authorization_code' | 'refresh_token'

/**
 * RFC 6749 §5.2 errors that keep their code on the way to the app, each with the relay's own
 * description. Unity's `error_description` is never passed on: Spring quotes what it was sent
 * ("Invalid authorization code: …", "Invalid refresh token: …"), which would hand the app the
 * code or Unity's raw refresh token.
 */
const TOKEN_ERRORS: Readonly<Partial<Record<RelayErrorCode, (grant: Grant, unityDescription: string) => string>>> = {
  invalid_request: () => 'Unity refused the token request as malformed.',
  invalid_grant: (grant, unityDescription) =>
    grant === 'refresh_token'
      ? 'Unity refused the refresh token: it expired or was revoked. Sign in again.'
      : /redirect/i.test(unityDescription)
        ? 'Unity refused the code because the redirect URI differs from the sign-in’s. Start a new sign-in; if it happens again, the relay’s operator should set REDIRECT_URI.'
        : 'Unity refused the authorization code: it expired or was used already. Start a new sign-in.',
  unauthorized_client: () => 'Unity does not allow the relay’s client this grant type.',
  unsupported_grant_type: () => 'Unity does not support this grant type.',
  invalid_scope: () => 'Unity refused the requested scope.',
}

/**
 * Unity's error codes that mean it refused the relay's own client authentication (RFC 6749
 * §5.2 `invalid_client`; Spring Security OAuth's entry point answers `unauthorized`).
 */
const CREDENTIAL_ERRORS: readonly string[] = ['invalid_client', 'unauthorized']

/** The settings an operator checks when Unity refuses the relay's client credentials. */
export const CREDENTIAL_SETTINGS = ['UNITY_CLIENT_ID', 'UNITY_CLIENT_SECRET', 'UNITY_TOKEN_AUTH'] as const

/**
 * The cause of a `unity_refused_relay` error, for its log line: Unity's status, and its error
 * code when it is one of {@link CREDENTIAL_ERRORS} (never Unity's description).
 */
export class CredentialsRefused {
  readonly status: number
  readonly error: string | undefined

  constructor(status: number, error: string | undefined) {
    this.status = status
    this.error = error
  }
}

/** Largest token response read from Unity; a real one is a few hundred bytes to a few KiB. */
export const MAX_UPSTREAM_BODY_BYTES = 64 * 1024

async function readTokenResponse(response: Response, grant: Grant): Promise<TokenOutcome> {
  if (response.status >= 500) {
    await response.body?.cancel().catch(() => undefined)
    return unavailable(`Unity answered ${response.status}. Try again shortly.`)
  }
  let text: string | undefined
  try {
    text = await readBounded(response, MAX_UPSTREAM_BODY_BYTES)
  } catch (cause) {
    return unavailable('The connection to Unity broke while it answered. Try again shortly.', cause)
  }
  if (text === undefined) return invalidResponse(`Unity's answer was larger than ${MAX_UPSTREAM_BODY_BYTES / 1024} KiB.`)
  const json = parseJsonObject(text)
  if (response.status >= 200 && response.status < 300) {
    if (json && typeof json.access_token === 'string' && typeof json.token_type === 'string') return { kind: 'tokens', body: text }
    return invalidResponse('Unity answered without an access token.')
  }
  if (response.status >= 300 && response.status < 400) {
    // The secret is never sent on to a redirect target (`redirect: 'manual'`).
    return invalidResponse(`Unity answered ${response.status} with a redirect.`)
  }
  const error = json && typeof json.error === 'string' ? json.error : undefined
  // Spring answers an expired refresh token with 401 `invalid_token`; RFC 6749 §5.2 calls that `invalid_grant`.
  if (error === 'invalid_token') return rejected(new RelayError('invalid_grant', describe('invalid_grant', grant, ''), { status: 400 }))
  // RFC 6749 §5.2: a 401 or `invalid_client` is about the client, the relay; the app can do nothing about it.
  if (response.status === 401 || (error !== undefined && CREDENTIAL_ERRORS.includes(error))) {
    const cause = new CredentialsRefused(response.status, error !== undefined && CREDENTIAL_ERRORS.includes(error) ? error : undefined)
    return {
      kind: 'unavailable',
      error: new RelayError('unity_refused_relay', 'Unity refused the relay’s client credentials. The relay’s operator must fix its settings; signing in again will not help until then.', { cause }),
    }
  }
  if (error === undefined) {
    // A page (Spring Boot's whitelabel 404, a proxy's): Unity's token endpoint did not read the request.
    const hint = response.status === 404 || response.status === 405 ? ' The relay’s UNITY_URL may be wrong.' : ''
    return invalidResponse(`Unity answered ${response.status} without an OAuth error.${hint}`)
  }
  const code = (Object.keys(TOKEN_ERRORS) as RelayErrorCode[]).find((known) => known === error)
  if (code === undefined) return rejected(new RelayError('upstream_error', 'Unity refused the token request with an error the relay does not know.'))
  const unityDescription = typeof json?.error_description === 'string' ? json.error_description : ''
  return rejected(new RelayError(code, describe(code, grant, unityDescription), { status: 400 }))
}

function describe(code: RelayErrorCode, grant: Grant, unityDescription: string): string {
  return TOKEN_ERRORS[code]?.(grant, unityDescription) ?? `Unity answered ${code}.`
}

/**
 * Reads at most `maxBytes` of a body, chunk by chunk, and cancels the rest: an endless or huge
 * answer costs the relay `maxBytes` of memory, not the whole body. `undefined` if it was longer;
 * throws if the connection breaks.
 */
async function readBounded(response: Response, maxBytes: number): Promise<string | undefined> {
  const declared = Number(response.headers.get('Content-Length') ?? Number.NaN)
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined)
    return undefined
  }
  if (!response.body) return ''
  // HTTP framing ends an uncompressed body at its declared length, so it is read in one call;
  // a compressed or undeclared one is counted as it streams in.
  if (Number.isSafeInteger(declared) && !response.headers.has('Content-Encoding')) return response.text()
  const reader = response.body.getReader()
  const decoder = new TextDecoder()
  let size = 0
  let text = ''
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return text + decoder.decode()
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined)
      return undefined
    }
    text += decoder.decode(value, { stream: true })
  }
}

function parseJsonObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null
  } catch {
    return null
  }
}

function rejected(error: RelayError): TokenOutcome {
  return { kind: 'rejected', error }
}

function invalidResponse(description: string): TokenOutcome {
  return { kind: 'unavailable', error: new RelayError('upstream_invalid_response', description) }
}

function unavailable(description: string, cause?: unknown): TokenOutcome {
  return { kind: 'unavailable', error: new RelayError('upstream_unavailable', description, { cause }) }
}
