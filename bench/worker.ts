/**
 * @module
 * The workerd bench entry: the shipped Worker (src/index.ts) unchanged, plus the bench-only
 * routes under `/bench/`. `X-Bench-Relay: count` selects a second relay whose KV binding counts
 * operations, used once per run to count a login's storage operations; `X-Bench-Relay: never`
 * one with `CONFIRM_PAGE=never`.
 *
 * Rate limits: in production a `[[ratelimits]]` binding counts in a cache on the Worker's own
 * machine, so `limit()` waits on no network request (Cloudflare's Rate Limiting docs,
 * "Performance"); Miniflare emulates it with a Durable Object fetch per call, about 450 µs of
 * CPU here. Every relay therefore gets the in-isolate limiter Deno uses in place of each binding,
 * and `X-Bench-Relay: emulated-limiter` selects the relay with Miniflare's emulated bindings, whose
 * rows the bench reports next to the others without a target.
 */
import relayWorker from '../src/index.ts'
import type { Env } from '../src/index.ts'
import { WorkersKvCodeStore } from '../src/stores/workers-kv.ts'
import { MemoryRateLimiter } from '../src/limits/memory-limiter.ts'
import { RATE_LIMIT_BINDINGS } from '../src/limits/settings.ts'
import { createBenchApp } from './floors.ts'
import { BENCH_SETTINGS } from './settings.ts'
import type { BenchKv } from './floors.ts'
import type { Hono } from 'hono'

export * from '../src/index.ts'

const counts: Record<string, number> = {}
let bench: Hono | undefined
let localEnv: Env | undefined
let countingEnv: Env | undefined
let neverEnv: Env | undefined

/** `env` with each Rate Limiting binding replaced by an in-isolate limiter (limits raised: all load comes from one address). */
function withLocalLimiters(env: Env): Env {
  const limiters = Object.fromEntries(Object.values(RATE_LIMIT_BINDINGS).map((name) => [name, new MemoryRateLimiter({ limit: 1_000_000, periodSeconds: 60 })]))
  return { ...env, ...limiters }
}

function countingKv(kv: KVNamespace): KVNamespace {
  return new Proxy(kv, {
    get(target, name) {
      const value: unknown = Reflect.get(target, name)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        counts[`relay.${String(name)}`] = (counts[`relay.${String(name)}`] ?? 0) + 1
        return Reflect.apply(value, target, args)
      }
    },
  })
}

function benchApp(env: Env): Hono {
  const kvNamespace = env.AUTH_CODES!
  const kv: BenchKv = {
    get: (key) => kvNamespace.get(key, 'json'),
    put: (key, value, ttlSeconds) => kvNamespace.put(key, JSON.stringify(value), { expirationTtl: Math.max(60, ttlSeconds) }),
    delete: (key) => kvNamespace.delete(key),
  }
  const store = new WorkersKvCodeStore(kvNamespace)
  return createBenchApp({
    kv,
    store,
    settings: { ...BENCH_SETTINGS, UNITY_URL: env.UNITY_URL ?? BENCH_SETTINGS.UNITY_URL },
    tokenEndpoint: `${env.UNITY_URL}/api/oauth/token`,
    counts,
  })
}

export default {
  fetch(request, env, ctx) {
    if (request.url.includes('/bench/')) return (bench ??= benchApp(env)).fetch(request, env, ctx)
    const variant = request.headers.get('X-Bench-Relay')
    if (variant === 'emulated-limiter') return relayWorker.fetch(request, env, ctx)
    localEnv ??= withLocalLimiters(env)
    if (variant === 'count') {
      countingEnv ??= { ...localEnv, AUTH_CODES: countingKv(env.AUTH_CODES!) }
      return relayWorker.fetch(request, countingEnv, ctx)
    }
    if (variant === 'never') {
      neverEnv ??= { ...localEnv, CONFIRM_PAGE: 'never' }
      return relayWorker.fetch(request, neverEnv, ctx)
    }
    return relayWorker.fetch(request, localEnv, ctx)
  },
} satisfies ExportedHandler<Env>
