/**
 * @module
 * The Deno bench entry: the relay built by src/deno.ts's `buildDenoRelay` with in-memory Deno KV,
 * served as src/deno.ts serves it, plus the bench-only routes under `/bench/`. Unity is a stub
 * server in the same process, reached over loopback. Prints `{"url","pid"}` on one line and
 * exits when its stdin closes, so it never outlives the bench.
 */
import { createRelay } from '../src/app.ts'
import { parseConfig } from '../src/config.ts'
import { buildDenoRelay } from '../src/deno.ts'
import { DenoKvCodeStore } from '../src/stores/deno-kv.ts'
import type { DenoKv } from '../src/stores/deno-kv.ts'
import { createBenchApp } from './floors.ts'
import type { BenchKv } from './floors.ts'
import { BENCH_SETTINGS, STUB_TOKEN_BODY } from './settings.ts'

const stub = Deno.serve({ port: 0, hostname: '127.0.0.1', onListen: () => {} }, () =>
  new Response(STUB_TOKEN_BODY, { headers: { 'Content-Type': 'application/json' } }))
const settings = { ...BENCH_SETTINGS, UNITY_URL: `http://127.0.0.1:${stub.addr.port}/vu/public`, DENO_KV_PATH: ':memory:' }

// Keep the Deno KV that buildDenoRelay opens, so seeds, floors and the peer share the relay's KV.
const openKv = Deno.openKv
let opened: Deno.Kv | undefined
const capture = async (path?: string) => (opened = await openKv(path))
Object.defineProperty(Deno, 'openKv', { value: capture, configurable: true })
const relay = await buildDenoRelay(settings)
Object.defineProperty(Deno, 'openKv', { value: openKv, configurable: true })
if (!opened) throw new Error('buildDenoRelay opened no KV')
const kv = opened

const counts: Record<string, number> = {}
const countingKv = (inner: Deno.Kv): DenoKv => ({
  get: (key) => (counts['relay.get'] = (counts['relay.get'] ?? 0) + 1, inner.get(key)),
  set: (key, value, options) => (counts['relay.set'] = (counts['relay.set'] ?? 0) + 1, inner.set(key, value, options)),
  atomic: () => {
    counts['relay.atomic'] = (counts['relay.atomic'] ?? 0) + 1
    return inner.atomic()
  },
  watch: (keys) => (counts['relay.watch'] = (counts['relay.watch'] ?? 0) + 1, inner.watch(keys)),
})
const countingRelay = createRelay({ config: parseConfig(settings), store: new DenoKvCodeStore(countingKv(kv)) })
const neverRelay = createRelay({ config: parseConfig({ ...settings, CONFIRM_PAGE: 'never' }), store: new DenoKvCodeStore(kv) })

const toKey = (key: string) => {
  const colon = key.indexOf(':')
  return [key.slice(0, colon), key.slice(colon + 1)]
}
const benchKv: BenchKv = {
  get: async (key) => (await kv.get(toKey(key))).value,
  put: async (key, value, ttlSeconds) => {
    await kv.set(toKey(key), value, { expireIn: ttlSeconds * 1000 })
  },
  delete: (key) => kv.delete(toKey(key)),
}
const seedStore = new DenoKvCodeStore(kv)
const bench = createBenchApp({
  kv: benchKv,
  store: seedStore,
  settings,
  tokenEndpoint: `${settings.UNITY_URL}/api/oauth/token`,
  counts,
})

const server = Deno.serve(
  {
    port: 0,
    hostname: '127.0.0.1',
    onListen: ({ port }) => console.log(JSON.stringify({ url: `http://127.0.0.1:${port}/`, pid: Deno.pid })),
  },
  (request) => {
    if (request.url.includes('/bench/')) return bench.fetch(request)
    const variant = request.headers.get('X-Bench-Relay')
    if (variant === null) return relay.fetch(request)
    return variant === 'count' ? countingRelay.fetch(request) : neverRelay.fetch(request)
  },
)

for await (const _ of Deno.stdin.readable) {
  // Wait for the runner to close stdin.
}
await Promise.allSettled([server.shutdown(), stub.shutdown()])
Deno.exit(0)
