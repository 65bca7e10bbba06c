/**
 * @module
 * Input rules for the endpoints, as Hono validators. A request that breaks one is refused
 * with a `RelayError` before anything is signed, stored or sent upstream.
 */
import type { Env, MiddlewareHandler } from 'hono'
import { validator } from 'hono/validator'
import { isScope, MAX_SCOPE_LENGTH } from './config.ts'
import type { Config } from './config.ts'
import { readStandardRequest } from './authorize-request.ts'
import type { StandardAuthorize } from './authorize-request.ts'
import { RelayError } from './errors.ts'
import { CHALLENGE_PATTERN, CLIENT_ID_PATTERN } from './oauth-values.ts'
import { normalizeUserCode } from './user-code.ts'

type RawParams = Record<string, string | File | (string | File)[] | undefined>

/** RFC 7636 §4.1: 43 to 128 unreserved characters. */
const VERIFIER_PATTERN = /^[A-Za-z0-9\-._~]{43,128}$/
/** A device code as the relay issues it: 32 random bytes, base64url. */
const DEVICE_CODE_PATTERN = /^[A-Za-z0-9_-]{43}$/
/** Generous bounds on opaque values from Unity and apps, so oversized input is refused early. */
const MAX_CODE_LENGTH = 2048
/** Longest refresh token `/token` accepts: a raw Unity one (passthrough) or a sealed one. */
export const MAX_REFRESH_TOKEN_LENGTH = 4096
const MAX_RETURN_TO_LENGTH = 512

/** A validated pickup-mode `/authorize` request (no `redirect_uri`). */
export interface AuthorizeInput {
  readonly challenge: string
  readonly scope: string
  readonly returnTo: string | undefined
}

/** A standard-mode `/authorize` request (with `redirect_uri`), read by `authorize-request.ts`. */
export interface StandardAuthorizeInput {
  readonly standard: StandardAuthorize
}

/** A validated `/callback` request: the state plus either a code or an error. */
export interface CallbackInput {
  readonly state: string
  readonly code: string | undefined
  readonly error: string | undefined
  readonly iss: string | undefined
}

/** What the user chose on the confirmation page. */
export type Decision = 'continue' | 'cancel'

/** A validated `POST /authorize`: the signed state from the page and the button pressed. */
export interface DecisionInput {
  readonly state: string
  readonly decision: Decision
  /** The code the user picked (stored form, no dash), when the page asked them to pick one. */
  readonly pick: string | undefined
}

/** RFC 8628 §3.4: the device flow's grant type. */
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

/** A validated `POST /device_authorization` (RFC 8628 §3.1). */
export interface DeviceAuthorizationInput {
  readonly scope: string
  /** Recorded in logs only, never trusted: every app shares the relay's one Unity client. */
  readonly clientId: string | undefined
}

/** A validated `GET /device`: no code yet (the entry form), or a code that may exist. */
export type DeviceEntryInput =
  | { readonly kind: 'form' }
  | { readonly kind: 'code'; readonly userCode: string }
  /** Typed, but cannot be a user code: answered like an unknown one. */
  | { readonly kind: 'malformed' }

/** The parts of a standard code grant (RFC 6749 §4.1.3) that are checked against the flow's record. */
export interface StandardCodeInput {
  /** The relay's code, as the app's redirect URI received it. */
  readonly code: string
  readonly redirectUri: string | undefined
  readonly clientId: string | undefined
  /** The app sent a `client_secret` in the form, which the relay ignores. */
  readonly sentSecret: boolean
}

/** A validated `/token` request. */
export type TokenInput =
  /** With `standard`, the standard code grant; without, the relay's pickup. */
  | { readonly grantType: 'authorization_code'; readonly verifier: string; readonly standard?: StandardCodeInput }
  /** The device code is the flow's PKCE verifier, so its pickup is the same. */
  | { readonly grantType: typeof DEVICE_CODE_GRANT; readonly verifier: string }
  | { readonly grantType: 'refresh_token'; readonly refreshToken: string; readonly scope: string | undefined }

/** Validates `GET /authorize`: the pickup mode as ever, or with `redirect_uri` a standard request. */
export const authorizeQuery = (config: Config) =>
  validator('query', (query: RawParams): AuthorizeInput | StandardAuthorizeInput => {
    if (query.redirect_uri !== undefined) return { standard: readStandardRequest(query, config) }
    const challenge = single(query, 'code_challenge')
    // The challenge keys the pickup, so it must be exactly an S256 hash (RFC 7636 §4.2, RFC 9700 §2.1.1).
    if (challenge === undefined || !CHALLENGE_PATTERN.test(challenge)) {
      throw invalidRequest('code_challenge must be the 43-character base64url SHA-256 of a code_verifier.')
    }
    if (single(query, 'code_challenge_method') !== 'S256') {
      throw invalidRequest('code_challenge_method must be S256.')
    }
    const scope = single(query, 'scope') ?? config.defaultScope
    if (!isScope(scope)) {
      throw new RelayError('invalid_scope', `scope must be space-separated RFC 6749 §3.3 tokens, at most ${MAX_SCOPE_LENGTH} characters.`)
    }
    return { challenge, scope, returnTo: checkReturnTo(single(query, 'return_to'), config.returnToOrigins) }
  })

/** Validates `GET /callback` (only its shape; the state is verified by the handler). */
export const callbackQuery = validator('query', (query: RawParams): CallbackInput => {
  const state = single(query, 'state')
  if (state === undefined) throw invalidRequest('The sign-in response has no state. Go back to the app and start again.')
  const code = single(query, 'code')
  const error = single(query, 'error')
  if ((code === undefined) === (error === undefined) || code === '' || (code !== undefined && code.length > MAX_CODE_LENGTH)) {
    throw invalidRequest('The sign-in response must carry either a code or an error.')
  }
  return { state, code, error, iss: single(query, 'iss') }
})

/** Validates `POST /authorize`, the confirmation page's form (only its shape; the handler verifies the state). */
export const decisionForm = urlEncodedForm('Send the confirmation as the relay page’s form.', (form): DecisionInput => {
  const state = single(form, 'state')
  if (state === undefined) throw invalidRequest('The confirmation has no state. Go back to the app and start again.')
  const decision = single(form, 'decision')
  const picked = single(form, 'pick')
  // Picking a code is the page's Continue when it asks for one; it is never sent with a decision.
  if (picked !== undefined && decision === undefined) {
    const pick = normalizeUserCode(picked)
    if (pick === null) throw invalidRequest('Pick one of the codes on the relay’s page.')
    return { state, decision: 'continue', pick }
  }
  if (picked !== undefined || (decision !== 'continue' && decision !== 'cancel')) throw invalidRequest('Choose Continue or Cancel on the relay’s page.')
  return { state, decision, pick: undefined }
})

/** Validates `POST /device_authorization`: a form-encoded body per RFC 8628 §3.1. */
export const deviceAuthorizationForm = (config: Config) =>
  urlEncodedForm('Send the device authorization request as application/x-www-form-urlencoded.', (form): DeviceAuthorizationInput => {
    const scope = single(form, 'scope') ?? config.defaultScope
    if (!isScope(scope)) {
      throw new RelayError('invalid_scope', `scope must be space-separated RFC 6749 §3.3 tokens, at most ${MAX_SCOPE_LENGTH} characters.`)
    }
    const clientId = single(form, 'client_id')
    // RFC 6749 Appendix A.1: a client_id is VSCHARs; bounded, because it reaches a log line.
    if (clientId !== undefined && !CLIENT_ID_PATTERN.test(clientId)) throw invalidRequest('client_id must be 1 to 64 printable ASCII characters.')
    return { scope, clientId }
  })

/** Validates `GET /device`. Case, dashes and spaces in a typed code don't matter (RFC 8628 §6.1). */
export const deviceEntryQuery = validator('query', (query: RawParams): DeviceEntryInput => {
  const typed = single(query, 'user_code')
  if (typed === undefined) return { kind: 'form' }
  const userCode = normalizeUserCode(typed)
  return userCode === null ? { kind: 'malformed' } : { kind: 'code', userCode }
})

/** Validates `POST /token`: a form-encoded body per RFC 6749 §4.1.3 and §6, and RFC 8628 §3.4. */
export const tokenForm = urlEncodedForm('Send the token request as application/x-www-form-urlencoded.', (form): TokenInput => {
  const grantType = single(form, 'grant_type')
  if (grantType === 'authorization_code') {
    const verifier = single(form, 'code_verifier')
    if (verifier === undefined || !VERIFIER_PATTERN.test(verifier)) {
      throw invalidRequest('code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.1).')
    }
    const code = single(form, 'code')
    if (code === undefined) return { grantType, verifier }
    if (code === '' || code.length > MAX_CODE_LENGTH) throw invalidRequest('code is empty or too long.')
    const redirectUri = single(form, 'redirect_uri')
    const clientId = single(form, 'client_id')
    if (redirectUri !== undefined && redirectUri.length > MAX_CODE_LENGTH) throw invalidRequest('redirect_uri is too long.')
    if (clientId !== undefined && !CLIENT_ID_PATTERN.test(clientId)) throw invalidRequest('client_id must be 1 to 64 printable ASCII characters.')
    return { grantType, verifier, standard: { code, redirectUri, clientId, sentSecret: form.client_secret !== undefined } }
  }
  if (grantType === DEVICE_CODE_GRANT) {
    const verifier = single(form, 'device_code')
    // Only the relay makes device codes: 32 random bytes in base64url, 43 characters.
    if (verifier === undefined || !DEVICE_CODE_PATTERN.test(verifier)) throw invalidRequest('device_code is missing or not one this relay issued.')
    return { grantType, verifier }
  }
  if (grantType === 'refresh_token') {
    const refreshToken = single(form, 'refresh_token')
    if (refreshToken === undefined || refreshToken.length > MAX_REFRESH_TOKEN_LENGTH) {
      throw invalidRequest('refresh_token is missing or too long.')
    }
    const scope = single(form, 'scope')
    if (scope !== undefined && !isScope(scope)) throw new RelayError('invalid_scope', 'scope must be RFC 6749 §3.3 tokens.')
    return { grantType, refreshToken, scope }
  }
  if (grantType === undefined) throw invalidRequest('grant_type is missing.')
  throw new RelayError('unsupported_grant_type', `grant_type must be authorization_code, ${DEVICE_CODE_GRANT} or refresh_token.`)
})

/** A validated `POST /revoke` (RFC 7009 §2.1). */
export interface RevokeInput {
  readonly token: string
}

/**
 * Validates `POST /revoke`: a form with one `token`, bounded like `/token`'s refresh token, and
 * at most one `token_type_hint`, which is ignored (RFC 7009 §2.1: the server may search beyond it).
 */
export const revokeForm = urlEncodedForm('Send the revocation request as application/x-www-form-urlencoded (RFC 7009 §2.1).', (form): RevokeInput => {
  const token = single(form, 'token')
  if (token === undefined || token === '' || token.length > MAX_REFRESH_TOKEN_LENGTH) throw invalidRequest('token is missing or too long.')
  single(form, 'token_type_hint')
  return { token }
})

/**
 * Accepts a `return_to` only if its origin is exactly one of the allowlisted origins, which
 * rules out open redirects (RFC 9700 §4.11): `//evil`, `javascript:`, userinfo and look-alikes.
 */
export function checkReturnTo(value: string | undefined, allowedOrigins: readonly string[]): string | undefined {
  if (value === undefined) return undefined
  const url = value.length <= MAX_RETURN_TO_LENGTH ? URL.parse(value) : null
  const allowed =
    url !== null &&
    (url.protocol === 'https:' || url.protocol === 'http:') &&
    allowedOrigins.includes(url.origin) &&
    // The raw value must start with the origin itself, which also rules out userinfo and any
    // spelling the URL parser had to repair (backslashes, tabs, upper case).
    (value === url.origin || value.startsWith(`${url.origin}/`) || value.startsWith(`${url.origin}?`))
  if (!allowed) {
    throw new RelayError('invalid_return_to', 'return_to must be an address on one of the origins in RETURN_TO_ALLOWLIST.')
  }
  return url.href
}

const utf8 = new TextDecoder()

/**
 * A form validator like hono/validator's, for `application/x-www-form-urlencoded` bodies only
 * (RFC 6749 §3.2, §4.1.3; RFC 8628 §3.1): the media type is checked before the body is read, and
 * the body is parsed with URLSearchParams, where hono/validator goes through FormData (a fifth of
 * a pending poll's own work on Deno). A repeated name becomes an array, which `single` refuses.
 */
function urlEncodedForm<T extends object>(description: string, parse: (form: RawParams) => T): MiddlewareHandler<Env, string, { out: { form: T } }> {
  return async (c, next) => {
    const mediaType = (c.req.header('Content-Type') ?? '').split(';')[0]?.trim().toLowerCase()
    if (mediaType !== 'application/x-www-form-urlencoded') throw invalidRequest(description)
    // Bytes, then UTF-8 as text() decodes them: workerd warns about every text() on a form body.
    const body = await c.req.arrayBuffer().catch(() => {
      throw invalidRequest('The request body could not be read.')
    })
    const form: Record<string, string | string[]> = Object.create(null)
    for (const [name, value] of new URLSearchParams(utf8.decode(body))) {
      const seen = form[name]
      form[name] = seen === undefined ? value : typeof seen === 'string' ? [seen, value] : [...seen, value]
    }
    c.req.addValidatedData('form', parse(form))
    await next()
  }
}

/** RFC 6749 §3.1: request parameters must not be included more than once. */
function single(params: RawParams, name: string): string | undefined {
  const value = params[name]
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw invalidRequest(`${name} must be given exactly once.`)
  return value
}

function invalidRequest(description: string): RelayError {
  return new RelayError('invalid_request', description)
}
