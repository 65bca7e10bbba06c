/**
 * @module
 * {@link RefreshGrants} on the code store: a grant record per pickup, rotation with reuse
 * detection and one Unity call for concurrent refreshes (RFC 9700 §4.14.2), a grant lifetime, and
 * revocation (RFC 7009). The decisions are in `stores/grant-state.ts`; each store applies them
 * with its own consistency (see {@link CodeStore.rotation}).
 */
import { RelayError } from './errors.ts'
import type { Logger } from './log.ts'
import type { RefreshGrants } from './refresh.ts'
import { guardStore } from './store.ts'
import type { CodeStore } from './store.ts'
import { firstGrantRecord } from './stores/grant-state.ts'
import type { GrantAnswer, GrantRefusal } from './stores/grant-state.ts'
import type { TokenOutcome } from './unity.ts'

/** What {@link recordedGrants} needs. */
export interface GrantDeps {
  readonly store: CodeStore
  /** `REFRESH_GRANT_TTL_SECONDS`. */
  readonly ttlSeconds: number
  /** `REFRESH_REUSE_GRACE_SECONDS`. */
  readonly graceSeconds: number
  readonly log: Logger
  /** The clock, in Unix seconds. */
  readonly nowSeconds: () => number
}

const REFUSALS: Readonly<Record<GrantRefusal, string>> = {
  unknown: 'This sign-in has ended (its refresh grant expired) or is not known to the relay. Sign in again.',
  revoked: 'This sign-in was revoked. Sign in again.',
  reused: 'This refresh token had already been replaced by a newer one, so the relay revoked the sign-in in case it was stolen. Sign in again.',
  superseded: 'This refresh token was just replaced by a concurrent refresh. Use the newest refresh token.',
}

/**
 * Grant records in `store`.
 *
 * @example
 * const grants = recordedGrants({ store, ttlSeconds: 7_776_000, graceSeconds: 10, log, nowSeconds })
 */
export function recordedGrants(deps: GrantDeps): RefreshGrants {
  const { store, log } = deps
  const rule = () => ({ nowSeconds: deps.nowSeconds(), graceSeconds: deps.graceSeconds })
  return {
    async start(first) {
      // The grant's lifetime runs from its pickup: a lost device stops refreshing then, whatever Unity's token says.
      await guardStore('write to', store.startGrant(first.grantId, firstGrantRecord(first.issuedAt, deps.ttlSeconds), deps.nowSeconds()))
    },
    async refresh(presented, exchange) {
      let own: TokenOutcome | undefined
      const result = await guardStore(
        'read',
        store.refreshGrant(presented.grantId, presented.generation, rule(), async () => toAnswer((own = await exchange()))),
      )
      if (result.kind === 'refused') {
        const fields = { error: 'invalid_grant', outcome: result.reason, grant: presented.grantId }
        // RFC 9700 §4.14.2: a reused refresh token means a thief may hold the grant; say which one, loudly.
        if (result.reason === 'reused') log.warn('token.refresh_reused', fields)
        else log.warn('token.refresh_refused', fields)
        throw new RelayError('invalid_grant', REFUSALS[result.reason])
      }
      const { answer } = result
      // This caller's own outcome keeps its error's cause for the log; a joined caller gets the answer rebuilt.
      if (own && sameAnswer(toAnswer(own), answer)) return own
      return fromAnswer(answer)
    },
    async revoke(presented) {
      await guardStore('write to', store.revokeGrant(presented.grantId, deps.nowSeconds()))
      log.info('token.revoked', { grant: presented.grantId })
    },
  }
}

function toAnswer(outcome: TokenOutcome): GrantAnswer {
  if (outcome.kind === 'tokens') return { kind: 'tokens', body: outcome.body }
  const { code, description, status, headers } = outcome.error
  return { kind: outcome.kind, code, description, status, headers }
}

function fromAnswer(answer: GrantAnswer): TokenOutcome {
  if (answer.kind === 'tokens') return { kind: 'tokens', body: answer.body }
  return { kind: answer.kind, error: new RelayError(answer.code, answer.description, { status: answer.status, headers: answer.headers }) }
}

function sameAnswer(a: GrantAnswer, b: GrantAnswer): boolean {
  return a.kind === 'tokens' ? b.kind === 'tokens' && a.body === b.body : b.kind === a.kind && b.code === a.code && b.description === a.description
}
