/**
 * @module
 * A signed-in session as an app stores it (tokens, when they end, and the DPoP key beside them),
 * and what it can do at the relay afterwards: refresh (with a proof from that key) and revoke.
 */
import * as oauth from 'oauth4webapi'
import { discoverRelay } from './discovery.ts'
import type { ClientOptions, Relay } from './discovery.ts'
import { LoginError } from './errors.ts'
import { tokenRequestError } from './answers.ts'

/**
 * The relay's default `REFRESH_GRANT_TTL_SECONDS`: how long after a sign-in its refresh tokens work at most.
 *
 * @example
 * const latestEnd = session.signedInAt + DEFAULT_GRANT_SECONDS * 1000
 */
export const DEFAULT_GRANT_SECONDS = 90 * 24 * 3600

/**
 * An ES256 key pair as JWKs, kept with the tokens so the bound refresh token stays usable.
 *
 * @example
 * const stored: StoredDpopKey = await exportDpopKey(await newDpopKey())
 */
export interface StoredDpopKey {
  readonly publicJwk: JsonWebKey
  readonly privateJwk: JsonWebKey
}

/**
 * What a sign-in leaves behind: plain JSON, safe to store as a whole in a keyring entry or a
 * 0600 file, and to pass back to {@link refresh} and {@link revoke}. It holds secrets.
 *
 * @example
 * const session: Session = await login.tokens()
 * await keyring.set('my-app', session.relay, JSON.stringify(session))
 */
export interface Session {
  readonly version: 1
  /** The relay's origin. */
  readonly relay: string
  readonly accessToken: string
  /** `Bearer` as Unity spells it; the access token is Unity's own bearer token. */
  readonly tokenType: string
  /** When the access token ends, Unix milliseconds (from `expires_in`); `undefined` when Unity gave none. */
  readonly expiresAt: number | undefined
  /** The relay's sealed refresh token; `undefined` when Unity issued none. */
  readonly refreshToken: string | undefined
  readonly scope: string | undefined
  /** When the user signed in, Unix milliseconds; a refresh keeps it. */
  readonly signedInAt: number
  /** When the tokens were last refreshed, Unix milliseconds. */
  readonly refreshedAt: number | undefined
  /** The DPoP key the refresh token is bound to, when the login made one. */
  readonly dpopKey: StoredDpopKey | undefined
  /**
   * Whether the relay bound the refresh token to {@link dpopKey}: a proof was sent and the relay
   * seals refresh tokens (its metadata names a `revocation_endpoint`, which only sealing relays do).
   */
  readonly bound: boolean
}

/**
 * A fresh ES256 key pair for DPoP proofs (RFC 9449 §4.2). It is extractable so it can be stored
 * beside the tokens: a copy of the token file without it cannot refresh.
 *
 * @example
 * const key = await newDpopKey()
 * const login = await startLogin({ relay, dpopKey: key })
 */
export function newDpopKey(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']) as Promise<CryptoKeyPair>
}

/**
 * A key pair as JWKs for storage.
 *
 * @example
 * const stored = await exportDpopKey(await newDpopKey())
 */
export async function exportDpopKey(pair: CryptoKeyPair): Promise<StoredDpopKey> {
  const publicJwk = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as JsonWebKey
  const privateJwk = (await crypto.subtle.exportKey('jwk', pair.privateKey)) as JsonWebKey
  return { publicJwk, privateJwk }
}

/**
 * The stored key, imported again; the private key stays non-extractable in memory.
 *
 * @example
 * const pair = await importDpopKey(session.dpopKey!)
 */
export async function importDpopKey(stored: StoredDpopKey): Promise<CryptoKeyPair> {
  const params = { name: 'ECDSA', namedCurve: 'P-256' }
  const privateKey = await crypto.subtle.importKey('jwk', stored.privateJwk, params, false, ['sign'])
  const publicKey = await crypto.subtle.importKey('jwk', stored.publicJwk, params, true, ['verify'])
  return { privateKey, publicKey }
}

/**
 * Builds a session from a token answer oauth4webapi has checked; `previous` carries a refreshed
 * session's sign-in time, key and binding over.
 *
 * @example
 * const session = await sessionFrom(relay, await oauth.processDeviceCodeResponse(relay.as, relay.client, response), Date.now(), keyPair)
 */
export async function sessionFrom(relay: Relay, answer: oauth.TokenEndpointResponse, now: number, dpopKey: CryptoKeyPair | undefined, previous?: Session): Promise<Session> {
  const stored = previous?.dpopKey ?? (dpopKey ? await exportDpopKey(dpopKey) : undefined)
  return {
    version: 1,
    relay: relay.origin,
    accessToken: answer.access_token,
    tokenType: answer.token_type,
    expiresAt: typeof answer.expires_in === 'number' ? now + answer.expires_in * 1000 : undefined,
    // A refresh always answers a new sealed token (README, /token); keep the old one only if none came.
    refreshToken: answer.refresh_token ?? previous?.refreshToken,
    scope: answer.scope ?? previous?.scope,
    signedInAt: previous?.signedInAt ?? now,
    refreshedAt: previous ? now : undefined,
    dpopKey: stored,
    bound: previous?.bound || (dpopKey !== undefined && relay.as.revocation_endpoint !== undefined),
  }
}

/**
 * Options of {@link refresh} and {@link revoke}.
 *
 * @example
 * await refresh(session, { signal: AbortSignal.timeout(10_000) })
 */
export interface SessionOptions extends ClientOptions {
  /** The relay already discovered; discovered again from `session.relay` when absent. */
  readonly relayInfo?: Relay
  readonly signal?: AbortSignal
  /** Replaces `Date.now`. */
  readonly clock?: () => number
}

/**
 * Refreshes a session at the relay (RFC 6749 §6) with a DPoP proof from its key, and returns the
 * new session: store it in place of the old one, since the relay rotates refresh tokens and a
 * reused old one revokes the grant (RFC 9700 §4.14.2).
 *
 * @example
 * const next = await refresh(session)
 * await save(next)
 */
export async function refresh(session: Session, options: SessionOptions = {}): Promise<Session> {
  if (!session.refreshToken) throw new LoginError('invalid_grant', 'The session has no refresh token: sign in again.')
  const relay = options.relayInfo ?? (await discoverRelay(session.relay, options))
  const pair = session.dpopKey ? await importDpopKey(session.dpopKey) : undefined
  const DPoP = pair ? oauth.DPoP(relay.client, pair) : undefined
  const now = (options.clock ?? Date.now)()
  let answer: oauth.TokenEndpointResponse
  try {
    const response = await oauth.refreshTokenGrantRequest(relay.as, relay.client, oauth.None(), session.refreshToken, {
      ...relay.http,
      ...(DPoP ? { DPoP } : {}),
      signal: options.signal ?? AbortSignal.timeout(30_000),
    })
    answer = await oauth.processRefreshTokenResponse(relay.as, relay.client, response)
  } catch (error) {
    throw tokenRequestError(error, options.signal)
  }
  return sessionFrom(relay, answer, now, pair, session)
}

/**
 * Revokes the session's refresh token at the relay's `revocation_endpoint` (RFC 7009), so no
 * generation of it refreshes again. Returns `false` when the relay offers no revocation (a
 * `passthrough` relay: Unity's own token cannot be revoked there). The access token stays valid
 * at Unity until it expires.
 *
 * @example
 * if (!(await revoke(session))) console.warn('This relay cannot revoke; the token lives on until it expires')
 */
export async function revoke(session: Session, options: SessionOptions = {}): Promise<boolean> {
  if (!session.refreshToken) return false
  const relay = options.relayInfo ?? (await discoverRelay(session.relay, options))
  if (!relay.as.revocation_endpoint) return false
  try {
    const response = await oauth.revocationRequest(relay.as, relay.client, oauth.None(), session.refreshToken, {
      ...relay.http,
      additionalParameters: { token_type_hint: 'refresh_token' },
      signal: options.signal ?? AbortSignal.timeout(30_000),
    })
    await oauth.processRevocationResponse(response)
  } catch (error) {
    throw tokenRequestError(error, options.signal)
  }
  return true
}

/**
 * Whether the access token ends within `marginMs` (or has no known end and so is treated as fresh).
 *
 * @example
 * if (expiresWithin(session, 5 * 60_000)) session = await refresh(session)
 */
export function expiresWithin(session: Session, marginMs: number, now = Date.now()): boolean {
  return session.expiresAt !== undefined && session.expiresAt - now <= marginMs
}
