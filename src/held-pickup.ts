/**
 * @module
 * Held pickups: a `/token` pickup whose flow is still pending may wait for the flow's result
 * instead of being answered `authorization_pending` at once, so the app learns of the user's
 * Allow (or Cancel, or Unity's error) the moment the callback stores it. This module decides who
 * is held and for how long, how many at once, and what the answer says; the store does the waiting
 * ({@link CodeStore.waitForResult}).
 */
import type { Config } from './config.ts'
import { faultName } from './log.ts'
import type { Logger } from './log.ts'
import type { Clock, RelayContext } from './relay.ts'
import { MAX_HELD_PICKUPS_PER_FLOW } from './store.ts'
import type { CodeStore, Pickup, ResultWait } from './store.ts'

/** At most this many pickups are held at once per isolate (per process on Deno); a further one is answered at once. */
export const MAX_HELD_PICKUPS = 1000

/** The pickup answered when nothing is held, or when a hold ends with nothing to pick up. */
const PENDING_PICKUP: Pickup = { kind: 'pending' }

/** A `wait` above this many digits is no wiser than a cap, and never becomes a huge number. */
const MAX_WAIT_DIGITS = 6

/**
 * The `wait` preference of a `Prefer` header (RFC 7240 §4.3), in seconds, or `undefined` when
 * there is none or its value is not delta-seconds. Only the first `wait` counts (RFC 7240 §2);
 * other preferences and parameters are ignored, as the RFC asks of preferences a server does not apply.
 *
 * @example
 * preferredWait('respond-async, wait=20') // 20
 */
export function preferredWait(prefer: string | undefined): number | undefined {
  if (prefer === undefined) return undefined
  for (const preference of splitOutsideQuotes(prefer, ',')) {
    const [head = ''] = splitOutsideQuotes(preference, ';')
    const equals = head.indexOf('=')
    const name = (equals === -1 ? head : head.slice(0, equals)).trim().toLowerCase()
    if (name !== 'wait') continue
    const raw = equals === -1 ? '' : head.slice(equals + 1).trim()
    // word = token / quoted-string (RFC 7240 §2); a quoted delta-seconds is the same number.
    const value = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw
    return /^\d+$/.test(value) ? Number(value.length > MAX_WAIT_DIGITS ? '9'.repeat(MAX_WAIT_DIGITS) : value) : undefined
  }
  return undefined
}

/** Splits `text` at `separator` where it is not inside a quoted-string (RFC 9110 §5.6.4), in one pass. */
function splitOutsideQuotes(text: string, separator: ',' | ';'): string[] {
  const parts: string[] = []
  let start = 0
  let quoted = false
  for (let index = 0; index < text.length; index++) {
    const char = text[index]
    if (quoted && char === '\\') index++
    else if (char === '"') quoted = !quoted
    else if (!quoted && char === separator) {
      parts.push(text.slice(start, index))
      start = index + 1
    }
  }
  parts.push(text.slice(start))
  return parts
}

/** The settings that decide a hold. */
export type HoldSettings = Pick<Config, 'pickupHoldSeconds' | 'deviceHoldSeconds'>

/** How long a pending pickup may be held, and whether that applies the request's `Prefer: wait`. */
export interface HoldPlan {
  readonly seconds: number
  readonly preferred: boolean
}

/**
 * Who is held, and for how long: a request with `Prefer: wait=N` for N seconds, at most
 * `PICKUP_HOLD_SECONDS`; a device-code poll without it for `DEVICE_HOLD_SECONDS`, since standard
 * device clients send no `Prefer` and RFC 8628 §3.5 lets a poll's answer take its time; any other
 * pickup not at all, so apps that poll see no change. `null` for no hold.
 */
export function holdPlan(prefer: string | undefined, device: boolean, settings: HoldSettings): HoldPlan | null {
  const wait = preferredWait(prefer)
  if (wait !== undefined) {
    const seconds = Math.min(wait, settings.pickupHoldSeconds)
    return seconds > 0 ? { seconds, preferred: true } : null
  }
  return device && settings.deviceHoldSeconds > 0 ? { seconds: settings.deviceHoldSeconds, preferred: false } : null
}

/** How many pickups {@link HoldRegistry} lets wait at once. */
export interface HoldLimits {
  /** Per flow (its `code_challenge`). */
  readonly perFlow: number
  /** In all. */
  readonly total: number
}

/**
 * The held pickups of one isolate, counted per flow and in all, so a flow, or a flood of flows,
 * cannot pin an unbounded number of open requests.
 *
 * @example
 * const release = registry.enter(challenge)
 * if (release) try { await wait() } finally { release() }
 */
export class HoldRegistry {
  readonly #limits: HoldLimits
  readonly #perFlow = new Map<string, number>()
  #total = 0

  constructor(limits: HoldLimits = { perFlow: MAX_HELD_PICKUPS_PER_FLOW, total: MAX_HELD_PICKUPS }) {
    if (!Number.isSafeInteger(limits.perFlow) || limits.perFlow < 1 || !Number.isSafeInteger(limits.total) || limits.total < 1) {
      throw new RangeError('HoldRegistry: perFlow and total must be whole numbers of at least 1')
    }
    this.#limits = limits
  }

  /** How many pickups are held now. */
  get size(): number {
    return this.#total
  }

  /** Takes a place for one held pickup of `key`, or `null` when its flow or the isolate is full. The returned function gives it back, once. */
  enter(key: string): (() => void) | null {
    const flow = this.#perFlow.get(key) ?? 0
    if (flow >= this.#limits.perFlow || this.#total >= this.#limits.total) return null
    this.#perFlow.set(key, flow + 1)
    this.#total++
    let released = false
    return () => {
      if (released) return
      released = true
      this.#total--
      const left = (this.#perFlow.get(key) ?? 1) - 1
      if (left === 0) this.#perFlow.delete(key)
      else this.#perFlow.set(key, left)
    }
  }
}

/** What {@link pickupHolds} needs. */
export interface HoldDeps {
  readonly config: HoldSettings
  readonly store: CodeStore
  /** The relay's clock, milliseconds: a device code's `exp` ends its hold. */
  readonly clock: Clock
  readonly log: Logger
  /** Default: a fresh {@link HoldRegistry} with the standard limits. */
  readonly registry?: HoldRegistry
}

/** A pending pickup the route may hold. */
export interface HoldRequest {
  /** The flow's PKCE `code_challenge`. */
  readonly challenge: string
  /** A device-code grant (RFC 8628 §3.4). */
  readonly device: boolean
  /** The device code's `exp`, Unix seconds: the hold ends there, and the lookup then says `expired_token`. */
  readonly until?: number
}

/** The hold around the route's pending branch. */
export interface PickupHolds {
  /**
   * Holds a pending pickup as {@link holdPlan} says, then looks the flow up again with `lookUp`
   * (whose faults and refusals are the route's own); the pending pickup itself when it is not held.
   */
  hold(c: RelayContext, request: HoldRequest, lookUp: () => Promise<Pickup>): Promise<Pickup>
  /** `response` with `Preference-Applied` when this request's `Prefer: wait` was applied (a thrown refusal gets it from the context). */
  answered(c: RelayContext, response: Response): Response
}

/**
 * Holds pending pickups on a store that can wait.
 *
 * @example
 * const holds = pickupHolds({ config, store, clock: Date.now, log })
 * if (pickup.kind === 'pending') pickup = await holds.hold(c, { challenge, device: false }, lookUp)
 */
export function pickupHolds(deps: HoldDeps): PickupHolds {
  const { config, store, clock, log } = deps
  const registry = deps.registry ?? new HoldRegistry()
  const applied = new WeakMap<Request, string>()
  return {
    async hold(c, request, lookUp) {
      const wait = store.holds === 'yes' ? store.waitForResult?.bind(store) : undefined
      const plan = wait ? holdPlan(c.req.header('Prefer'), request.device, config) : null
      if (!wait || !plan) return PENDING_PICKUP
      const now = clock()
      // RFC 8628 §3.5: a device code that runs out during the hold gets `expired_token`, as at any poll.
      const waitMs = Math.min(plan.seconds * 1000, request.until === undefined ? Number.POSITIVE_INFINITY : request.until * 1000 - now)
      const release = waitMs > 0 ? registry.enter(request.challenge) : null
      if (!release) return PENDING_PICKUP
      const signal = c.req.raw.signal
      try {
        let failed = false
        const waited = await wait(request.challenge, { nowSeconds: Math.floor(now / 1000), waitMs, signal }).catch((cause: unknown): ResultWait => {
          // The store's own fault decides the answer: the lookup below fails the same way, or (an evicted object) works.
          log.warn('token.hold_failed', { flow: c.get('flow') ?? '', fault: faultName(cause) })
          failed = true
          return 'ended'
        })
        if (waited === 'full') return PENDING_PICKUP
        if (plan.preferred) {
          // RFC 7240 §3: the answer says which preference was applied, and with what value.
          const value = `wait=${plan.seconds}`
          applied.set(c.req.raw, value)
          c.header('Preference-Applied', value)
        }
        // Nobody is left to answer: a claim now would spend the code for no one.
        if (signal.aborted) return PENDING_PICKUP
        // A hold that ran its full time saw no result (a write would have woken it): answered
        // without another store read, unless the device code's end cut it short (`expired_token`).
        if (waited === 'ended' && !failed && waitMs === plan.seconds * 1000) return PENDING_PICKUP
        return await lookUp()
      } finally {
        release()
      }
    },
    answered(c, response) {
      const value = applied.get(c.req.raw)
      if (value !== undefined) response.headers.set('Preference-Applied', value)
      return response
    },
  }
}
