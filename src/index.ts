/**
 * @module
 * Cloudflare Workers entry: binds the code store (Workers KV or Durable Objects) and `env` to the
 * core relay, and exports the `AuthFlows` Durable Object class. The app is built once per
 * isolate, so settings are validated once, not on every request.
 */
import { DurableObject } from 'cloudflare:workers'
import { createMisconfiguredRelay, createRelay } from './app.ts'
import type { Relay } from './app.ts'
import { parseConfig } from './config.ts'
import type { Config } from './config.ts'
import { RelayError } from './errors.ts'
import { RATE_LIMIT_BINDINGS } from './limits/settings.ts'
import type { RateLimitName } from './limits/settings.ts'
import type { CodeStore, DeviceRecord } from './store.ts'
import { DurableObjectCodeStore } from './stores/durable-object.ts'
import { FlowObject } from './stores/flow-object.ts'
import type { FlowWrite } from './stores/flow-state.ts'
import type { GrantAnswer, GrantRecord, GrantRule } from './stores/grant-state.ts'
import { WorkersKvCodeStore } from './stores/workers-kv.ts'

/** The `[[ratelimits]]` bindings wrangler.toml declares (worker-configuration.d.ts, written by `npm run types`). */
type LimiterBinding = { [Name in keyof WranglerEnv]: WranglerEnv[Name] extends RateLimit ? Name : never }[keyof WranglerEnv]

/** `Bindings`, while every `[[ratelimits]]` binding carries a limit: otherwise the error names the one in `Unmapped`. */
type CarryingEveryBinding<Bindings, Unmapped extends never> = Bindings | Unmapped

/** Each limit's binding, checked against wrangler.toml both ways: a name missing there, or a binding there that no limit uses, fails the type check. */
const LIMITER_BINDINGS: CarryingEveryBinding<Readonly<Record<RateLimitName, LimiterBinding>>, Exclude<LimiterBinding, (typeof RATE_LIMIT_BINDINGS)[RateLimitName]>> = RATE_LIMIT_BINDINGS

/**
 * The Worker's bindings, secrets and variables (names are part of the relay's contract). The bindings and the
 * variables with defaults come from wrangler.toml through the generated `WranglerEnv`; every one may be missing:
 * `AUTH_CODES` holds records for `CODE_STORE=kv`, keyed `flow:<code_challenge>`, `confirmed:<code_challenge>`,
 * `device:<user_code>`, `proof:<proof key>` and `grant:<grant id>`; `AUTH_FLOWS` is the namespace of
 * {@link AuthFlows} for `CODE_STORE=durable-object`, one object per record; a missing Rate Limiting binding turns
 * that limit off.
 */
export interface Env extends Partial<Readonly<WranglerEnv>> {
  // Secrets: set with `wrangler secret put`, never in wrangler.toml, so never in the generated types.
  /** Client secret, sent only to Unity's token endpoint. */
  readonly UNITY_CLIENT_SECRET?: string
  /** HMAC key for the state, at least 32 bytes. */
  readonly STATE_SECRET?: string
  /** Previous HMAC key, still accepted while a rotation settles. */
  readonly STATE_SECRET_PREVIOUS?: string
  /** Key material of the refresh-token seal (HKDF to AES-256-GCM), at least 32 bytes; required with `REFRESH_TOKENS=sealed`. */
  readonly REFRESH_SEAL_SECRET?: string
  /** Previous seal secret: tokens sealed with it still open while a rotation settles. */
  readonly REFRESH_SEAL_SECRET_PREVIOUS?: string

  // Variables
  /** Base URL of the Unity server, e.g. `https://unity.example.com/vu/public`. */
  readonly UNITY_URL?: string
  /** OAuth client id registered in Unity. */
  readonly UNITY_CLIENT_ID?: string
  /** Default scope; `api`. */
  readonly UNITY_SCOPE?: string
  /** `client_secret_basic` (default) or `client_secret_post`. */
  readonly UNITY_TOKEN_AUTH?: string
  /** `S256` (default) or `off`. */
  readonly UNITY_PKCE?: string
  /** Expected RFC 9207 `iss` on callbacks; unset skips the check. */
  readonly UNITY_ISSUER?: string
  /** Fixed redirect URI; default `${request origin}/callback`. */
  readonly REDIRECT_URI?: string
  /** Space-separated origins allowed for `return_to` and CORS on `/token`. */
  readonly RETURN_TO_ALLOWLIST?: string
  /** State lifetime in seconds; default 600. */
  readonly STATE_TTL_SECONDS?: string
  /** Record lifetime in seconds; default 120, at least 60. */
  readonly CODE_TTL_SECONDS?: string
  /** `kv` (default) or `durable-object`. */
  readonly CODE_STORE?: string
  /** `always` (default) or `never`: the confirmation page before Unity. */
  readonly CONFIRM_PAGE?: string
  /** `sealed` (default): apps get refresh tokens only the relay can open; `passthrough`: Unity's own. */
  readonly REFRESH_TOKENS?: string
  /** `true`: every pickup and refresh must carry a DPoP proof (RFC 9449); default `false`. */
  readonly REQUIRE_DPOP?: string
  /** Seconds a refresh grant lives after its pickup; default 7776000 (90 days), 3600 to 31536000. */
  readonly REFRESH_GRANT_TTL_SECONDS?: string
  /** Seconds the previous generation of a refresh token still gets its successor's answer; default 10, 0 to 60. */
  readonly REFRESH_REUSE_GRACE_SECONDS?: string
}

/** One flow's, one device code's or one refresh grant's record, in SQLite-backed storage; logic in `stores/flow-object.ts`. */
export class AuthFlows extends DurableObject<Env> {
  readonly #object = new FlowObject(this.ctx.storage)

  create(record: DeviceRecord) {
    return this.#object.create(record)
  }

  write(write: FlowWrite) {
    return this.#object.write(write)
  }

  readDevice() {
    return this.#object.readDevice()
  }

  beginPickup(nowSeconds: number, leaseId: string) {
    return this.#object.beginPickup(nowSeconds, leaseId)
  }

  finishPickup(leaseId: string, how: 'consume' | 'release') {
    this.#object.finishPickup(leaseId, how)
  }

  rememberProof(untilSeconds: number) {
    return this.#object.rememberProof(untilSeconds)
  }

  startGrant(record: GrantRecord) {
    return this.#object.startGrant(record)
  }

  beginRefresh(generation: number, rule: GrantRule, leaseId: string) {
    return this.#object.beginRefresh(generation, rule, leaseId)
  }

  finishRefresh(leaseId: string, answer: GrantAnswer) {
    return this.#object.finishRefresh(leaseId, answer)
  }

  revokeGrant(nowSeconds: number) {
    this.#object.revokeGrant(nowSeconds)
  }

  override alarm() {
    return this.#object.alarm()
  }
}

const relays = new WeakMap<Env, Relay>()

/** Builds the relay for an `env`, or a relay that reports what is misconfigured. */
export function buildWorkerRelay(env: Env): Relay {
  try {
    const config = parseConfig(env)
    return createRelay({
      config,
      store: storeFor(config, env),
      limiters: Object.fromEntries(Object.entries(LIMITER_BINDINGS).map(([name, binding]) => [name, env[binding]])),
      // Cloudflare sets this header at its edge and overwrites any value the client sent.
      clientIp: (request) => request.headers.get('CF-Connecting-IP') ?? undefined,
      // Cloudflare's own view of where the request came from: a country and the network's name, never an address.
      placeOf: (request) => ({ country: request.cf?.country, network: request.cf?.asOrganization }),
    })
  } catch (error) {
    if (error instanceof RelayError) return createMisconfiguredRelay(error)
    throw error
  }
}

function storeFor(config: Config, env: Env): CodeStore {
  return config.codeStore === 'durable-object' ? new DurableObjectCodeStore(env.AUTH_FLOWS) : new WorkersKvCodeStore(env.AUTH_CODES)
}

export default {
  fetch(request, env, ctx) {
    let relay = relays.get(env)
    if (!relay) {
      relay = buildWorkerRelay(env)
      relays.set(env, relay)
    }
    return relay.fetch(request, env, ctx)
  },
} satisfies ExportedHandler<Env>
