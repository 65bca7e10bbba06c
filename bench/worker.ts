/**
 * @module
 * The workerd bench entry: the shipped Worker (src/index.ts) unchanged, plus the bench-only
 * routes under `/bench/`. `X-Bench-Relay: count` selects a second relay whose KV binding counts
 * operations, used once per run to count a login's storage operations; `X-Bench-Relay: never`
 * one with `CONFIRM_PAGE=never`.
 */
import relayWorker from '../src/index.ts'
import type { Env } from '../src/index.ts'
import { WorkersKvCodeStore } from '../src/stores/workers-kv.ts'
import { createBenchApp } from './floors.ts'
import { BENCH_SETTINGS } from './settings.ts'
import type { BenchKv } from './floors.ts'
import type { Hono } from 'hono'

export * from '../src/index.ts'

const counts: Record<string, number> = {}
let bench: Hono | undefined
let countingEnv: Env | undefined
let neverEnv: Env | undefined

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
    seedFlow: (challenge, record, ttl) => store.save(challenge, record, ttl),
    settings: { ...BENCH_SETTINGS, UNITY_URL: env.UNITY_URL ?? BENCH_SETTINGS.UNITY_URL },
    tokenEndpoint: `${env.UNITY_URL}/api/oauth/token`,
    counts,
  })
}

export default {
  fetch(request, env, ctx) {
    if (request.url.includes('/bench/')) return (bench ??= benchApp(env)).fetch(request, env, ctx)
    const variant = request.headers.get('X-Bench-Relay')
    if (variant === 'count') {
      countingEnv ??= { ...env, AUTH_CODES: countingKv(env.AUTH_CODES!) }
      return relayWorker.fetch(request, countingEnv, ctx)
    }
    if (variant === 'never') {
      neverEnv ??= { ...env, CONFIRM_PAGE: 'never' } as Env & { readonly CONFIRM_PAGE: string }
      return relayWorker.fetch(request, neverEnv, ctx)
    }
    return relayWorker.fetch(request, env, ctx)
  },
} satisfies ExportedHandler<Env>
