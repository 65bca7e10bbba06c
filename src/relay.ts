/**
 * @module
 * The app-wide types: what every route module receives from `createRelay`, the per-request
 * variables, the limiter and the clock. Part of the core: routes import it, nothing here imports routes.
 */
import type { Context, Hono } from 'hono'
import type { SecureHeadersVariables } from 'hono/secure-headers'
import type { Config } from './config.ts'
import type { RateLimitName } from './limits/settings.ts'
import type { ErrorFormat, RelayErrorCode } from './errors.ts'
import type { Logger } from './log.ts'
import type { Place } from './place.ts'
import type { RefreshGrants } from './refresh.ts'
import type { RefreshSealKeys } from './refresh-seal.ts'
import type { StateKeys } from './state.ts'
import type { CodeStore } from './store.ts'
import type { UnityClient } from './unity.ts'

/** Milliseconds since the Unix epoch, like `Date.now`. */
export type Clock = () => number

/** Decides whether a request may go ahead; the Workers Rate Limiting binding fits as is. */
export interface RateLimiter {
  limit(options: { key: string }): Promise<{ success: boolean }>
}

/** One limiter per limit; a missing one is off. See `limits/settings.ts` for the keys. */
export type RelayLimiters = Partial<Readonly<Record<RateLimitName, RateLimiter>>>

/**
 * Per-request variables: the CSP nonce, whether errors render as HTML or JSON, a page's CSP
 * `form-action` and whether it runs its inline script, the client's rate-limit key (its address
 * from the runtime entry, an IPv6 /64; see `limits/client-ip.ts`), and the flow's log id
 * (`flowId`) once a handler knows the flow, for the refusal log line.
 */
export type RelayEnv = { Variables: SecureHeadersVariables & { errorFormat: ErrorFormat; formAction?: string; pageScript?: boolean; clientKey?: string; flow?: string } }

/** The relay's Hono app; serve it with `relay.fetch`. */
export type Relay = Hono<RelayEnv>

/** The relay's Hono context. */
export type RelayContext = Context<RelayEnv>

/** Everything a route needs, wired once by `createRelay`. */
export interface RouteDeps {
  readonly config: Config
  readonly store: CodeStore
  readonly unity: UnityClient
  readonly log: Logger
  readonly limiters: RelayLimiters
  /** Where a request came from (country, network), as far as the runtime knows. */
  placeOf(request: Request): Place | undefined
  /** The injected clock, in Unix seconds. */
  nowSeconds(): number
  /** The HMAC keys, imported once per isolate on first use. */
  stateKeys(): Promise<StateKeys>
  /** The refresh-token sealing keys (`REFRESH_TOKENS=sealed`), derived once per isolate on first use. */
  refreshSealKeys(): Promise<RefreshSealKeys>
  /** What the relay records about each refresh grant. */
  readonly refreshGrants: RefreshGrants
  /** `REDIRECT_URI`, else `${request origin}/callback`. */
  redirectUriFor(c: Context): string
  /** The relay's public origin: `REDIRECT_URI`'s when it is set, else the request's. */
  publicOrigin(c: Context): string
  /** Logs a refusal answered without a throw (an unknown user code), as `app.onError` logs thrown ones. */
  logRefusal(c: RelayContext, error: RelayErrorCode, status: number): void
}
