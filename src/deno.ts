/**
 * @module
 * Deno entry: binds Deno KV and `Deno.env` to the core relay and serves it with `Deno.serve`.
 * Settings are validated once at startup, with the same rules as on Workers.
 */
import { createMisconfiguredRelay, createRelay } from './app.ts'
import type { Relay } from './app.ts'
import { parseConfig } from './config.ts'
import { RelayError } from './errors.ts'
import { MemoryRateLimiter } from './limits/memory-limiter.ts'
import { DenoKvCodeStore } from './stores/deno-kv.ts'

/**
 * Builds the relay from `env`, or a relay that reports what is misconfigured.
 *
 * @param env Settings, e.g. `Deno.env.toObject()`; `DENO_KV_PATH` optionally names the KV
 *   file, `:memory:` or a KV Connect URL (default: Deno Deploy's KV, or Deno's local default).
 */
export async function buildDenoRelay(env: Readonly<Record<string, string>>): Promise<Relay> {
  try {
    const config = parseConfig(env)
    if (config.codeStore !== 'kv') {
      throw new RelayError('misconfigured', "Check the relay's settings: CODE_STORE durable-object needs Cloudflare Workers; on Deno the store is Deno KV (kv).")
    }
    const limiters = Object.fromEntries(Object.entries(config.rateLimits).map(([name, setting]) => [name, new MemoryRateLimiter(setting)]))
    return createRelay({
      config,
      store: new DenoKvCodeStore(await Deno.openKv(env.DENO_KV_PATH || undefined)),
      limiters,
      clientIp: (request) => peers.get(request),
    })
  } catch (error) {
    if (error instanceof RelayError) return createMisconfiguredRelay(error)
    throw error
  }
}

/** The socket peer of each request being served; a header could be forged, the peer cannot. */
const peers = new WeakMap<Request, string>()

/** Serves `relay`, recording each request's peer address for the per-address limits. */
export function serveRelay(relay: Relay, options: Deno.ServeTcpOptions): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve(options, (request, info) => {
    peers.set(request, info.remoteAddr.hostname)
    return relay.fetch(request)
  })
}

if (import.meta.main) {
  const env = Deno.env.toObject()
  const relay = await buildDenoRelay(env)
  // Plain HTTP on loopback by default: codes and tokens should only leave the host through a TLS proxy.
  // Deno Deploy ignores both settings.
  const port = Number(env.PORT || 8000)
  const hostname = env.HOST || '127.0.0.1'
  try {
    serveRelay(relay, { port, hostname })
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrInUse)) throw error
    console.error(`Port ${port} on ${hostname} is already in use, probably by another relay. Stop that one (find it with: lsof -i :${port}), or choose another port with PORT=<port>.`)
    Deno.exit(1)
  }
}
