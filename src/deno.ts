/**
 * @module
 * Deno entry: binds Deno KV and `Deno.env` to the core relay and serves it with `Deno.serve`.
 * Settings are validated once at startup, with the same rules as on Workers.
 */
import { createMisconfiguredRelay, createRelay } from './app.ts'
import type { Relay } from './app.ts'
import { parseConfig } from './config.ts'
import { RelayError } from './errors.ts'
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
    return createRelay({ config, store: new DenoKvCodeStore(await Deno.openKv(env.DENO_KV_PATH || undefined)) })
  } catch (error) {
    if (error instanceof RelayError) return createMisconfiguredRelay(error)
    throw error
  }
}

if (import.meta.main) {
  const env = Deno.env.toObject()
  const relay = await buildDenoRelay(env)
  // Plain HTTP on loopback by default: codes and tokens should only leave the host through a TLS proxy.
  // Deno Deploy ignores both settings.
  const port = Number(env.PORT || 8000)
  const hostname = env.HOST || '127.0.0.1'
  try {
    Deno.serve({ port, hostname }, relay.fetch)
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrInUse)) throw error
    console.error(`Port ${port} on ${hostname} is already in use, probably by another relay. Stop that one (find it with: lsof -i :${port}), or choose another port with PORT=<port>.`)
    Deno.exit(1)
  }
}
