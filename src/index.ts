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
import type { CodeStore, DeviceRecord } from './store.ts'
import { DurableObjectCodeStore } from './stores/durable-object.ts'
import { FlowObject } from './stores/flow-object.ts'
import type { FlowWrite } from './stores/flow-state.ts'
import type { GrantAnswer, GrantRecord, GrantRule } from './stores/grant-state.ts'
import { WorkersKvCodeStore } from './stores/workers-kv.ts'

/** The Worker's bindings, secrets and variables (names are part of the relay's contract). */
export interface Env {
  // Bindings
  /** KV namespace for records (`CODE_STORE=kv`), keyed `flow:<code_challenge>`, `confirmed:<code_challenge>`, `device:<user_code>`, `proof:<proof key>` and `grant:<grant id>`. */
  readonly AUTH_CODES?: KVNamespace
  /** Durable Object namespace of {@link AuthFlows} (`CODE_STORE=durable-object`), one object per record. */
  readonly AUTH_FLOWS?: DurableObjectNamespace<AuthFlows>
  /** Rate Limiting bindings (wrangler.toml `[[ratelimits]]`); a missing one turns that limit off. */
  readonly AUTHORIZE_LIMITER?: RateLimit
  readonly CALLBACK_LIMITER?: RateLimit
  readonly TOKEN_LIMITER?: RateLimit
  readonly REFRESH_LIMITER?: RateLimit
  readonly PICKUP_LIMITER?: RateLimit
  readonly DEVICE_LIMITER?: RateLimit
  /** Wrong user codes at `/device` from every address together, keyed `global`. */
  readonly DEVICE_GUESS_LIMITER?: RateLimit

  // Secrets
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

  finished(nowSeconds: number) {
    return this.#object.finished(nowSeconds)
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
    const { AUTHORIZE_LIMITER: authorize, CALLBACK_LIMITER: callback, TOKEN_LIMITER: token, REFRESH_LIMITER: refresh, PICKUP_LIMITER: pickup, DEVICE_LIMITER: device, DEVICE_GUESS_LIMITER: deviceGuess } = env
    return createRelay({
      config,
      store: storeFor(config, env),
      limiters: { authorize, callback, token, refresh, pickup, device, deviceGuess },
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
