/**
 * @module
 * Reads and validates the relay's settings once. A problem names the setting, never its value.
 */
import { RelayError } from './errors.ts'
import { DEFAULT_RATE_LIMITS, RATE_LIMIT_SETTINGS } from './limits/settings.ts'
import { checkAllowlistedRedirectUri } from './redirect-uri.ts'
import type { RateLimitName, RateLimits, RateLimitSetting } from './limits/settings.ts'
import { KV_MIN_EXPIRATION_TTL_SECONDS } from './store.ts'

/** How the relay authenticates to Unity's token endpoint (RFC 6749 §2.3.1). */
export type TokenAuthMethod = 'client_secret_basic' | 'client_secret_post'

/** Whether PKCE parameters are forwarded to Unity. */
export type PkceMode = 'S256' | 'off'

/** Whether `/authorize` asks the user to confirm the sign-in on a relay page first. */
export type ConfirmPageMode = 'always' | 'never'

/**
 * What `/token` hands apps as their refresh token: one the relay sealed around Unity's (`sealed`),
 * or Unity's own (`passthrough`, for apps that must also talk to Unity directly).
 */
export type RefreshTokenMode = 'sealed' | 'passthrough'

/** Where records live on Workers: Workers KV (`AUTH_CODES`) or Durable Objects (`AUTH_FLOWS`). */
export type CodeStoreKind = 'kv' | 'durable-object'

/** Validated settings. Built by {@link parseConfig}; tests may build one directly. */
export interface Config {
  /** `${UNITY_URL}/api/oauth/authorize` */
  readonly authorizeEndpoint: string
  /** `${UNITY_URL}/api/oauth/token` */
  readonly tokenEndpoint: string
  readonly clientId: string
  readonly clientSecret: string
  readonly defaultScope: string
  readonly tokenAuth: TokenAuthMethod
  readonly pkce: PkceMode
  /** `always`: GET /authorize shows the confirmation page; `never`: it redirects straight to Unity. */
  readonly confirmPage: ConfirmPageMode
  /** Expected RFC 9207 `iss`; `undefined` skips the check. */
  readonly issuer: string | undefined
  /** Current HMAC key first, then the previous one during rotation. */
  readonly stateSecrets: readonly string[]
  /** Fixed redirect URI; `undefined` means `${request origin}/callback`. */
  readonly redirectUri: string | undefined
  /** Exact origins a `return_to` and a CORS request may have. */
  readonly returnToOrigins: readonly string[]
  /** `LOOPBACK_REDIRECTS=on` (default): standard requests may name a loopback redirect URI on any port (RFC 8252 §7.3). */
  readonly loopbackRedirects: boolean
  /** `APP_REDIRECT_URIS`: the exact https and private-use redirect URIs standard requests may name (RFC 8252 §7.1). */
  readonly appRedirectUris: readonly string[]
  readonly stateTtlSeconds: number
  readonly codeTtlSeconds: number
  /** Each limit's count and period: Deno's in-process limiters, and `Retry-After` everywhere. */
  readonly rateLimits: RateLimits
  /** `CODE_STORE`; the Deno entry always uses Deno KV and accepts only `kv`. */
  readonly codeStore: CodeStoreKind
  /** `REFRESH_TOKENS`. */
  readonly refreshTokens: RefreshTokenMode
  /**
   * The secrets of the refresh-token seal, current first, then the previous one during rotation.
   * Always at least the current one with `sealed`; with `passthrough` whatever is set, unused.
   */
  readonly refreshSealSecrets: readonly string[]
  /** `REQUIRE_DPOP=true`: every pickup and refresh must carry a DPoP proof (RFC 9449 §5). */
  readonly requireDpop: boolean
  /** `REFRESH_GRANT_TTL_SECONDS`: how long a grant refreshes after its pickup, whatever Unity's token says. */
  readonly refreshGrantTtlSeconds: number
  /** `REFRESH_REUSE_GRACE_SECONDS`: how long the previous generation still gets its successor's answer. */
  readonly refreshReuseGraceSeconds: number
  /** `PICKUP_HOLD_SECONDS`: the longest a pickup asking `Prefer: wait=N` is held; 0 holds none. */
  readonly pickupHoldSeconds: number
  /** `DEVICE_HOLD_SECONDS`: how long a device-code poll without `Prefer` is held; 0 holds none. */
  readonly deviceHoldSeconds: number
}

/** Raw settings: Workers `env`, or `Deno.env.toObject()`. Non-string values are ignored. */
export type ConfigSource = object

/** Smallest `STATE_SECRET` and `REFRESH_SEAL_SECRET`, in bytes: keys of 256-bit primitives should be at least as long as the hash. */
export const MIN_STATE_SECRET_BYTES = 32

const STATE_TTL_RANGE = { min: 60, max: 3600, fallback: 600 } as const
const CODE_TTL_RANGE = { min: KV_MIN_EXPIRATION_TTL_SECONDS, max: 600, fallback: 120 } as const
/** An hour to a year: past a year Unity's own refresh token has ended anyway; default 90 days. */
const GRANT_TTL_RANGE = { min: 3600, max: 31_536_000, fallback: 7_776_000 } as const
/** Up to a minute: long enough for an app's concurrent refreshes, short enough that a thief's replay still trips. */
const REUSE_GRACE_RANGE = { min: 0, max: 60, fallback: 10 } as const
/**
 * Held pickups (see `held-pickup.ts`): at most 20 s, so a hold and then Unity's exchange (the
 * 10 s upstream timeout) stay within openid-client's 30 s request timeout.
 */
const PICKUP_HOLD_RANGE = { min: 0, max: 20, fallback: 20 } as const
/** A device client sends no `Prefer`, so its hold leaves 5 s more than a pickup's for the network and its own clock. */
const DEVICE_HOLD_RANGE = { min: 0, max: 20, fallback: 15 } as const

/**
 * Validates settings and returns a {@link Config}.
 *
 * @throws {RelayError} `misconfigured`, listing every bad setting by name.
 */
export function parseConfig(source: ConfigSource): Config {
  const problems: string[] = []
  const badSettings = new Set<string>()
  // Only the literal setting names written below reach `badSettings`, never a value from `source`.
  const problem = (name: string, text: string): void => {
    badSettings.add(name)
    problems.push(`${name} ${text}`)
  }
  const read = (name: string): string | undefined => {
    const value: unknown = (source as Record<string, unknown>)[name]
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined
  }
  const required = (name: string): string => {
    const value = read(name)
    if (value === undefined) problem(name, 'is missing')
    return value ?? ''
  }
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const value = read(name) ?? fallback
    if ((allowed as readonly string[]).includes(value)) return value as T
    problem(name, `must be one of ${allowed.join(', ')}`)
    return fallback
  }
  const seconds = (name: string, range: { min: number; max: number; fallback: number }): number => {
    const value = read(name)
    if (value === undefined) return range.fallback
    const parsed = /^\d+$/.test(value) ? Number(value) : Number.NaN
    if (parsed >= range.min && parsed <= range.max) return parsed
    problem(name, `must be a whole number of seconds from ${range.min} to ${range.max}`)
    return range.fallback
  }
  const endpointUrl = (name: string, value: string | undefined): URL | undefined => {
    if (value === undefined) return undefined
    const url = URL.parse(value)
    // RFC 6749 §3.1 and §10.9: endpoints must use TLS; plain http is only for loopback development.
    // A bare `?` or `#` parses to an empty query, yet the appended paths would land inside it.
    if (!url || /[?#]/.test(value) || (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url))) || url.search || url.hash || url.username || url.password) {
      problem(name, 'must be an https URL (plain http only for localhost, 127.0.0.1 or [::1]) without query, fragment or credentials')
      return undefined
    }
    return url
  }
  const secret = (name: string, value: string | undefined): string | undefined => {
    if (value !== undefined && new TextEncoder().encode(value).byteLength < MIN_STATE_SECRET_BYTES) {
      problem(name, `must be at least ${MIN_STATE_SECRET_BYTES} bytes`)
    }
    return value
  }

  const unityUrl = endpointUrl('UNITY_URL', required('UNITY_URL') || undefined)
  const unityBase = unityUrl ? unityUrl.href.replace(/\/+$/, '') : ''
  const clientId = required('UNITY_CLIENT_ID')
  const clientSecret = required('UNITY_CLIENT_SECRET')
  const scope = read('UNITY_SCOPE') ?? 'api'
  if (!isScope(scope)) problem('UNITY_SCOPE', 'must be space-separated RFC 6749 §3.3 scope tokens')
  const tokenAuth = oneOf<TokenAuthMethod>('UNITY_TOKEN_AUTH', ['client_secret_basic', 'client_secret_post'], 'client_secret_basic')
  const pkce = oneOf<PkceMode>('UNITY_PKCE', ['S256', 'off'], 'S256')
  const confirmPage = oneOf<ConfirmPageMode>('CONFIRM_PAGE', ['always', 'never'], 'always')
  const issuer = read('UNITY_ISSUER')
  const current = secret('STATE_SECRET', required('STATE_SECRET') || undefined)
  const previous = secret('STATE_SECRET_PREVIOUS', read('STATE_SECRET_PREVIOUS'))
  const redirectUri = endpointUrl('REDIRECT_URI', read('REDIRECT_URI'))?.href
  const returnToOrigins = parseOrigins(read('RETURN_TO_ALLOWLIST'), problem)
  const loopbackRedirects = oneOf<'on' | 'off'>('LOOPBACK_REDIRECTS', ['on', 'off'], 'on') === 'on'
  const appRedirectUris = parseRedirectUris(read('APP_REDIRECT_URIS'), problem)
  const stateTtlSeconds = seconds('STATE_TTL_SECONDS', STATE_TTL_RANGE)
  const codeTtlSeconds = seconds('CODE_TTL_SECONDS', CODE_TTL_RANGE)
  const rateLimit = (name: RateLimitName): RateLimitSetting => {
    const setting = RATE_LIMIT_SETTINGS[name]
    const value = read(setting)
    if (value === undefined) return DEFAULT_RATE_LIMITS[name]
    const match = /^(\d{1,7})\/(\d{1,4})$/.exec(value)
    const limit = Number(match?.[1])
    const periodSeconds = Number(match?.[2])
    if (limit >= 1 && periodSeconds >= 1 && periodSeconds <= 3600) return { limit, periodSeconds }
    problem(setting, `must be requests/seconds, e.g. ${DEFAULT_RATE_LIMITS[name].limit}/${DEFAULT_RATE_LIMITS[name].periodSeconds}`)
    return DEFAULT_RATE_LIMITS[name]
  }
  const rateLimits: RateLimits = {
    authorize: rateLimit('authorize'),
    callback: rateLimit('callback'),
    token: rateLimit('token'),
    refresh: rateLimit('refresh'),
    pickup: rateLimit('pickup'),
    device: rateLimit('device'),
    deviceGuess: rateLimit('deviceGuess'),
  }
  const codeStore = oneOf<CodeStoreKind>('CODE_STORE', ['kv', 'durable-object'], 'kv')
  const refreshTokens = oneOf<RefreshTokenMode>('REFRESH_TOKENS', ['sealed', 'passthrough'], 'sealed')
  const sealCurrent = secret('REFRESH_SEAL_SECRET', read('REFRESH_SEAL_SECRET'))
  const sealPrevious = secret('REFRESH_SEAL_SECRET_PREVIOUS', read('REFRESH_SEAL_SECRET_PREVIOUS'))
  if (refreshTokens === 'sealed' && sealCurrent === undefined) problem('REFRESH_SEAL_SECRET', 'is missing (REFRESH_TOKENS=sealed, the default, needs it)')
  // One secret per purpose (NIST SP 800-57 Part 1 §5.2): whoever learns the state's key must not open refresh tokens too.
  for (const [name, value] of [['REFRESH_SEAL_SECRET', sealCurrent], ['REFRESH_SEAL_SECRET_PREVIOUS', sealPrevious]] as const) {
    if (value !== undefined && (value === current || value === previous)) problem(name, 'must differ from STATE_SECRET and STATE_SECRET_PREVIOUS')
  }
  const requireDpop = oneOf<'true' | 'false'>('REQUIRE_DPOP', ['true', 'false'], 'false') === 'true'
  // A passthrough refresh token is Unity's own, which the relay cannot bind to a key: requiring proofs would promise a binding that is not there.
  if (requireDpop && refreshTokens === 'passthrough') problem('REQUIRE_DPOP', 'needs REFRESH_TOKENS=sealed: a passthrough refresh token cannot be bound to a DPoP key')
  const refreshGrantTtlSeconds = seconds('REFRESH_GRANT_TTL_SECONDS', GRANT_TTL_RANGE)
  const refreshReuseGraceSeconds = seconds('REFRESH_REUSE_GRACE_SECONDS', REUSE_GRACE_RANGE)
  const pickupHoldSeconds = seconds('PICKUP_HOLD_SECONDS', PICKUP_HOLD_RANGE)
  const deviceHoldSeconds = seconds('DEVICE_HOLD_SECONDS', DEVICE_HOLD_RANGE)

  if (problems.length > 0) {
    throw new RelayError('misconfigured', `Check the relay's settings: ${problems.join('; ')}.`, { cause: new BadSettings([...badSettings]) })
  }
  return {
    authorizeEndpoint: `${unityBase}/api/oauth/authorize`,
    tokenEndpoint: `${unityBase}/api/oauth/token`,
    clientId,
    clientSecret,
    defaultScope: scope,
    tokenAuth,
    pkce,
    confirmPage,
    issuer,
    stateSecrets: previous === undefined ? [current ?? ''] : [current ?? '', previous],
    redirectUri,
    returnToOrigins,
    loopbackRedirects,
    appRedirectUris,
    stateTtlSeconds,
    codeTtlSeconds,
    rateLimits,
    codeStore,
    refreshTokens,
    refreshSealSecrets: sealCurrent === undefined ? [] : sealPrevious === undefined ? [sealCurrent] : [sealCurrent, sealPrevious],
    requireDpop,
    refreshGrantTtlSeconds,
    refreshReuseGraceSeconds,
    pickupHoldSeconds,
    deviceHoldSeconds,
  }
}

/**
 * The cause of a `misconfigured` error from {@link parseConfig}: the names of the bad settings,
 * for the log line. Names only: a setting's value may be a secret.
 */
export class BadSettings {
  readonly names: readonly string[]

  constructor(names: readonly string[]) {
    this.names = names
  }
}

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), separated by single spaces. */
const SCOPE_PATTERN = /^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/

/** Longest scope string the relay forwards; keeps the signed state small. */
export const MAX_SCOPE_LENGTH = 256

/** Whether `value` is a well-formed, bounded RFC 6749 §3.3 scope. */
export function isScope(value: string): boolean {
  return value.length <= MAX_SCOPE_LENGTH && SCOPE_PATTERN.test(value)
}

function parseOrigins(value: string | undefined, problem: (name: string, text: string) => void): string[] {
  if (value === undefined) return []
  const origins = value.split(/\s+/)
  for (const origin of origins) {
    const url = URL.parse(origin)
    // The allowlist holds bare origins so a return_to can be compared by exact origin.
    if (!url || url.origin === 'null' || url.origin !== origin.replace(/\/$/, '')) {
      problem('RETURN_TO_ALLOWLIST', 'must be space-separated origins like https://app.example.com')
      return []
    }
  }
  return origins.map((origin) => origin.replace(/\/$/, ''))
}

/** RFC 9700 §4.1.3: redirect URIs are compared exactly, so each entry must be the one spelling apps will send. */
function parseRedirectUris(value: string | undefined, problem: (name: string, text: string) => void): string[] {
  if (value === undefined) return []
  const uris = value.split(/\s+/)
  for (const uri of uris) {
    const reason = checkAllowlistedRedirectUri(uri)
    if (reason !== undefined) {
      problem('APP_REDIRECT_URIS', reason)
      return []
    }
  }
  return [...new Set(uris)]
}

function isLoopback(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]'
}
