/**
 * @module
 * An in-process rate limiter with the Workers Rate Limiting binding's shape, for runtimes without
 * the binding (Deno). Each key gets `limit` requests per fixed window of `periodSeconds`.
 */
import type { RateLimiter } from '../relay.ts'

/** Options of {@link MemoryRateLimiter}. */
export interface MemoryRateLimiterOptions {
  readonly limit: number
  readonly periodSeconds: number
  /** Milliseconds since the epoch; default `Date.now`. */
  readonly clock?: () => number
  /** Most keys held at once; default 100,000. */
  readonly maxKeys?: number
}

interface Window {
  readonly start: number
  count: number
}

/**
 * Counts requests per key in memory. Counts are per process: several Deno instances each allow
 * `limit`, which errs on the side of letting users in.
 *
 * @example
 * const limiter = new MemoryRateLimiter({ limit: 600, periodSeconds: 60 })
 * const { success } = await limiter.limit({ key: '203.0.113.7' })
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly #limit: number
  readonly #periodMs: number
  readonly #clock: () => number
  readonly #maxKeys: number
  readonly #windows = new Map<string, Window>()

  constructor({ limit, periodSeconds, clock = Date.now, maxKeys = 100_000 }: MemoryRateLimiterOptions) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError('MemoryRateLimiter: limit must be a whole number of at least 1')
    if (!Number.isSafeInteger(periodSeconds) || periodSeconds < 1) throw new RangeError('MemoryRateLimiter: periodSeconds must be a whole number of at least 1')
    this.#limit = limit
    this.#periodMs = periodSeconds * 1000
    this.#clock = clock
    this.#maxKeys = maxKeys
  }

  /** Counts one request for `key`; `success` is false once the key has used its window. */
  limit({ key }: { key: string }): Promise<{ success: boolean }> {
    const now = this.#clock()
    let window = this.#windows.get(key)
    if (!window || now - window.start >= this.#periodMs) {
      // A flood of distinct keys must not grow memory without bound: drop finished windows, and
      // refuse new keys while every slot is still live.
      if (!window && this.#windows.size >= this.#maxKeys && !this.#sweep(now)) return Promise.resolve({ success: false })
      window = { start: now, count: 0 }
      this.#windows.set(key, window)
    }
    window.count += 1
    return Promise.resolve({ success: window.count <= this.#limit })
  }

  /** Removes finished windows; true if room was made. */
  #sweep(now: number): boolean {
    for (const [key, window] of this.#windows) {
      if (now - window.start >= this.#periodMs) this.#windows.delete(key)
    }
    return this.#windows.size < this.#maxKeys
  }
}
