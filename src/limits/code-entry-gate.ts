/**
 * @module
 * The global budget for wrong user codes at `GET /device` (RFC 8628 §5.1), on top of the
 * per-address `device` limit: one key, `global`, for every client, because many addresses (an IPv6
 * /48 holds 65,536 /64s) would otherwise buy as many budgets. A Rate Limiting binding cannot say
 * whether a key has room without counting, so each wrong code is counted, and once the limiter
 * says no, this relay closes code entry, found codes included, until the period is over: a guess
 * that is not evaluated tells the guesser nothing.
 */
import { RelayError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { RateLimiter } from '../relay.ts'
import { isAllowed } from './by-client-ip.ts'

/** The limiter key every wrong code counts under. */
export const GLOBAL_GUESS_KEY = 'global'

/** Options of {@link createCodeEntryGate}. */
export interface CodeEntryGateOptions {
  /** The `deviceGuess` limiter; `undefined` turns the budget off. */
  readonly limiter: RateLimiter | undefined
  /** How long code entry stays closed once the budget is spent: the limit's period. */
  readonly periodSeconds: number
  /** The relay's clock, in Unix seconds. */
  readonly nowSeconds: () => number
  readonly log: Logger
}

/** Code entry at `/device`, open or closed for this relay instance (an isolate, a Deno process). */
export interface CodeEntryGate {
  /** @throws {RelayError} `code_entry_closed` (429, `Retry-After`) while entry is closed. */
  assertOpen(): void
  /**
   * Counts one wrong code (unknown, expired or malformed) against the global budget.
   *
   * @throws {RelayError} `code_entry_closed` when this wrong code spent it: entry is now closed.
   */
  countWrong(): Promise<void>
}

/**
 * Builds the gate for one relay.
 *
 * @example
 * const gate = createCodeEntryGate({ limiter: limiters.deviceGuess, periodSeconds: 60, nowSeconds, log })
 * gate.assertOpen()
 * if (!record) await gate.countWrong()
 */
export function createCodeEntryGate({ limiter, periodSeconds, nowSeconds, log }: CodeEntryGateOptions): CodeEntryGate {
  if (!Number.isSafeInteger(periodSeconds) || periodSeconds < 1) throw new RangeError('createCodeEntryGate: periodSeconds must be a whole number of seconds')
  let closedUntil = Number.NEGATIVE_INFINITY
  const assertOpen = () => {
    const now = nowSeconds()
    if (now < closedUntil) throw closed(closedUntil - now)
  }
  return {
    assertOpen,
    async countWrong() {
      if (!limiter || (await isAllowed(limiter, GLOBAL_GUESS_KEY, log))) return
      closedUntil = Math.max(closedUntil, nowSeconds() + periodSeconds)
      assertOpen()
    },
  }
}

function closed(retryAfterSeconds: number): RelayError {
  return new RelayError('code_entry_closed', `Too many wrong codes were entered at this relay, so code entry is paused for everyone. Try again in ${retryAfterSeconds} seconds; if the code on your device has expired by then, start again there.`, {
    headers: { 'Retry-After': String(retryAfterSeconds) },
  })
}
