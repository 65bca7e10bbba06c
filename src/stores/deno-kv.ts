/**
 * @module
 * {@link CodeStore} on Deno KV. Reads are strongly consistent and a claim is an atomic
 * compare-and-delete, so a code is handed to at most one token exchange.
 */
import { isLive, KV_MIN_EXPIRATION_TTL_SECONDS, parseFlowRecord } from '../store.ts'
import type { Claim, CodeStore, FlowRecord } from '../store.ts'

/** Every record key is this prefix followed by the PKCE `code_challenge`. */
export const DENO_KV_KEY_PREFIX = ['flow'] as const

type Key = readonly string[]

/** The part of an atomic operation the store uses; `Deno.AtomicOperation` fits. */
export interface DenoKvAtomic {
  check(...checks: { key: Key; versionstamp: string | null }[]): DenoKvAtomic
  set(key: Key, value: unknown, options?: { expireIn?: number }): DenoKvAtomic
  delete(key: Key): DenoKvAtomic
  commit(): Promise<{ ok: boolean }>
}

/** The part of `Deno.Kv` the store uses, so this module type-checks without Deno's types. */
export interface DenoKv {
  get(key: Key): Promise<{ value: unknown; versionstamp: string | null }>
  set(key: Key, value: unknown, options?: { expireIn?: number }): Promise<unknown>
  atomic(): DenoKvAtomic
}

/**
 * Stores flow records in Deno KV under `['flow', <code_challenge>]`.
 *
 * @example
 * const store = new DenoKvCodeStore(await Deno.openKv(Deno.env.get('DENO_KV_PATH')))
 */
export class DenoKvCodeStore implements CodeStore {
  readonly #kv: DenoKv

  constructor(kv: DenoKv) {
    this.#kv = kv
  }

  async save(challenge: string, record: FlowRecord, ttlSeconds: number): Promise<void> {
    const expireIn = Math.max(ttlSeconds, KV_MIN_EXPIRATION_TTL_SECONDS) * 1000
    await this.#kv.set([...DENO_KV_KEY_PREFIX, challenge], record, { expireIn })
  }

  async claim(challenge: string, nowSeconds: number): Promise<Claim | null> {
    const key = [...DENO_KV_KEY_PREFIX, challenge]
    const entry = await this.#kv.get(key)
    const record = parseFlowRecord(entry.value)
    // Deno KV expiry is lazy too: an expired entry can still be read.
    if (!record || !isLive(record, nowSeconds)) return null
    const unchanged = { key, versionstamp: entry.versionstamp }
    if ('error' in record) {
      // An error record holds no secret and answers every poll until it expires, so it is read, not taken.
      return {
        record,
        consume: async () => {
          await this.#kv.atomic().check(unchanged).delete(key).commit()
        },
        release: async () => {},
      }
    }
    // Only the pickup whose delete commits against the version it read gets the code: strictly single use.
    const { ok } = await this.#kv.atomic().check(unchanged).delete(key).commit()
    if (!ok) return null
    return {
      record,
      consume: async () => {},
      // Restores the record for the app's retry unless a newer one took its place.
      release: async () => {
        const expireIn = (record.exp - nowSeconds) * 1000
        await this.#kv.atomic().check({ key, versionstamp: null }).set(key, record, { expireIn }).commit()
      },
    }
  }
}
