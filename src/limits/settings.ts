/**
 * @module
 * The relay's rate limits: what each one counts, per what key, and its default. On Workers the
 * `[[ratelimits]]` bindings in wrangler.toml carry these numbers; on Deno the `RATE_LIMIT_*`
 * settings do.
 */

/** One limit: at most `limit` requests per key in `periodSeconds`. */
export interface RateLimitSetting {
  readonly limit: number
  readonly periodSeconds: number
}

/**
 * The limits, by name. `authorize`, `callback`, `token`, `refresh` and `device` (code entry at
 * `/device` and `POST /device_authorization`) are keyed by client
 * address (an IPv6 /64); `pickup` by flow (the PKCE `code_challenge`); `deviceGuess` (wrong
 * user codes at `/device`) by the one key `global` (see `limits/code-entry-gate.ts`).
 */
export type RateLimitName = 'authorize' | 'callback' | 'token' | 'refresh' | 'pickup' | 'device' | 'deviceGuess'

/** Every limit's setting. */
export type RateLimits = Readonly<Record<RateLimitName, RateLimitSetting>>

/**
 * Defaults, sized for a whole company behind one NAT address: 300 sign-ins a minute from one
 * address (two `/authorize` requests and one `/callback` each), 100 apps polling every 5 s, and
 * a refresh a minute for 1,200 users; 300 device-flow requests (about 100 device sign-ins) a
 * minute, while at that rate one address needs about 160 years to try every 8-letter user code. One flow may poll 10 times in 10 s: an app that polls once a
 * second or slower (the README advises 2 to 5 s) never hears `slow_down`; a tight loop does.
 * 300 wrong user codes a minute across all addresses: one company behind one NAT address can make
 * at most 300 code entries a minute (the `device` limit), so its typos alone never spend it, and
 * many addresses (a /48 holds 65,536 /64s) get no more guesses than one.
 */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  authorize: { limit: 600, periodSeconds: 60 },
  callback: { limit: 300, periodSeconds: 60 },
  token: { limit: 1200, periodSeconds: 60 },
  refresh: { limit: 1200, periodSeconds: 60 },
  pickup: { limit: 10, periodSeconds: 10 },
  device: { limit: 300, periodSeconds: 60 },
  deviceGuess: { limit: 300, periodSeconds: 60 },
}

/** The setting that overrides each default, e.g. `RATE_LIMIT_TOKEN=1200/60`. */
export const RATE_LIMIT_SETTINGS: Readonly<Record<RateLimitName, string>> = {
  authorize: 'RATE_LIMIT_AUTHORIZE',
  callback: 'RATE_LIMIT_CALLBACK',
  token: 'RATE_LIMIT_TOKEN',
  refresh: 'RATE_LIMIT_REFRESH',
  pickup: 'RATE_LIMIT_PICKUP',
  device: 'RATE_LIMIT_DEVICE',
  deviceGuess: 'RATE_LIMIT_DEVICE_GUESS',
}

/**
 * The Workers Rate Limiting binding (wrangler.toml `[[ratelimits]]`) that carries each limit. `src/index.ts`
 * checks these names against the generated `WranglerEnv` both ways, so wrangler.toml stays the one list.
 */
export const RATE_LIMIT_BINDINGS = {
  authorize: 'AUTHORIZE_LIMITER',
  callback: 'CALLBACK_LIMITER',
  token: 'TOKEN_LIMITER',
  refresh: 'REFRESH_LIMITER',
  pickup: 'PICKUP_LIMITER',
  device: 'DEVICE_LIMITER',
  deviceGuess: 'DEVICE_GUESS_LIMITER',
} as const satisfies Readonly<Record<RateLimitName, string>>
