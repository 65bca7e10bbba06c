/**
 * @module
 * {@link CodeStore} on Workers KV. KV is eventually consistent and has no compare-and-delete, so a
 * claim is a plain read: two pickups racing across locations can both read the same code. Unity
 * still accepts a code only once (RFC 6749 §4.1.2); use a strictly single-use store where that
 * race matters.
 */
import { RelayError } from '../errors.ts'
import { isLive, KV_MIN_EXPIRATION_TTL_SECONDS, parseFlowRecord } from '../store.ts'
import type { Claim, CodeStore, FlowRecord } from '../store.ts'

/** Every record key starts with this prefix, followed by the PKCE `code_challenge`. */
export const WORKERS_KV_KEY_PREFIX = 'flow:'

/** Stores flow records in a Workers KV namespace under `flow:<code_challenge>`. */
export class WorkersKvCodeStore implements CodeStore {
  readonly #kv: KVNamespace

  /** @throws {RelayError} `misconfigured` when the binding is missing. */
  constructor(kv: KVNamespace | undefined, bindingName = 'AUTH_CODES') {
    if (!kv) throw new RelayError('misconfigured', `Check the relay's settings: the KV binding ${bindingName} is missing.`)
    this.#kv = kv
  }

  async save(challenge: string, record: FlowRecord, ttlSeconds: number): Promise<void> {
    const expirationTtl = Math.max(ttlSeconds, KV_MIN_EXPIRATION_TTL_SECONDS)
    await this.#kv.put(WORKERS_KV_KEY_PREFIX + challenge, JSON.stringify(record), { expirationTtl })
  }

  async claim(challenge: string, nowSeconds: number): Promise<Claim | null> {
    const key = WORKERS_KV_KEY_PREFIX + challenge
    const record = parseFlowRecord(await this.#kv.get(key, 'json'))
    if (!record || !isLive(record, nowSeconds)) return null
    return {
      record,
      consume: () => this.#kv.delete(key),
      release: async () => {},
    }
  }
}
