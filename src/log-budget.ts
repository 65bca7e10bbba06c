/**
 * @module
 * Budgets for log lines that a flood would repeat. Every refused request is logged once, but a
 * flood of refusals (a scan, a guessing run, a broken client in a loop) must not become a flood of
 * log lines: each relay instance (one per isolate on Workers, per process on Deno) writes at most
 * `limit` lines per window, then one line with the number it held back, once that window is over.
 * A fault only the operator can fix (Unity refusing the relay's credentials) gets a smaller budget.
 */
import type { LogFields, Logger } from './log.ts'

/** At most 50 refusal lines per 10 s per isolate: enough to see every refusal of normal use, bounded under a flood. */
export const REFUSAL_LOG_BUDGET = { limit: 50, windowSeconds: 10 } as const

/** At most one line a minute per isolate for a fault every pickup repeats until the operator fixes it. */
export const OPERATOR_LOG_BUDGET = { limit: 1, windowSeconds: 60 } as const

/** Options of {@link createRefusalLog}. */
export interface RefusalLogOptions {
  readonly log: Logger
  /** The relay's injected clock, in milliseconds. */
  readonly clock: () => number
  readonly limit?: number
  readonly windowSeconds?: number
}

/** Where refusals are logged. */
export interface RefusalLog {
  /** Logs one refused request as `request.refused`, unless this window's lines are spent. */
  refused(fields: LogFields): void
  /**
   * Writes `request.refused_unlogged` with the count of lines held back in a window that is over.
   * Called on every request; without lines held back it reads no clock.
   */
  flush(): void
}

/**
 * Builds a refusal log over `log`. A window opens at the first refusal after the last one closed.
 *
 * @example
 * const refusals = createRefusalLog({ log, clock: Date.now })
 * refusals.refused({ error: 'invalid_state', status: 400 })
 */
export function createRefusalLog({ log, clock, limit = REFUSAL_LOG_BUDGET.limit, windowSeconds = REFUSAL_LOG_BUDGET.windowSeconds }: RefusalLogOptions): RefusalLog {
  const budget = createBudgetedLog({ log, clock, limit, windowSeconds, level: 'warn', event: 'request.refused' })
  return { refused: budget.write, flush: budget.flush }
}

/** Options of {@link createBudgetedLog}. */
export interface BudgetedLogOptions extends RefusalLogOptions {
  readonly level: 'warn' | 'error'
  /** The line's event; the count of lines held back goes out as `${event}_unlogged`. */
  readonly event: string
}

/** One event's budgeted log. */
export interface BudgetedLog {
  /** Logs one line as the event, unless this window's lines are spent. */
  write(fields: LogFields): void
  /** Writes the held-back count of a window that is over; without lines held back it reads no clock. */
  flush(): void
}

/**
 * Builds a budgeted log of one event at one level over `log`.
 *
 * @example
 * const refused = createBudgetedLog({ log, clock: Date.now, level: 'error', event: 'unity.refused_relay', ...OPERATOR_LOG_BUDGET })
 */
export function createBudgetedLog({ log, clock, limit = REFUSAL_LOG_BUDGET.limit, windowSeconds = REFUSAL_LOG_BUDGET.windowSeconds, level, event }: BudgetedLogOptions): BudgetedLog {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError('createBudgetedLog: limit must be a whole number of at least 1')
  if (!Number.isSafeInteger(windowSeconds) || windowSeconds < 1) throw new RangeError('createBudgetedLog: windowSeconds must be a whole number of seconds')
  const windowMs = windowSeconds * 1000
  let windowStart = Number.NEGATIVE_INFINITY
  let written = 0
  let held = 0
  const roll = (now: number) => {
    if (now - windowStart < windowMs) return
    if (held > 0) log[level](`${event}_unlogged`, { count: held })
    windowStart = now
    written = 0
    held = 0
  }
  return {
    write(fields) {
      roll(clock())
      if (written < limit) {
        written += 1
        log[level](event, fields)
      } else {
        held += 1
      }
    },
    flush() {
      if (held > 0) roll(clock())
    },
  }
}
