/**
 * @module
 * What `/token` does with refresh tokens under `REFRESH_TOKENS=sealed`: a pickup seals Unity's
 * refresh token as generation 0 of a new grant; a refresh opens the sealed token, refreshes with
 * Unity's token inside and seals Unity's next one, one generation up. Grant records (rotation and
 * reuse detection, RFC 9700 §4.14.2) plug in through {@link RefreshGrants}.
 */
import { isScope } from './config.ts'
import type { PresentedProof } from './dpop-request.ts'
import { RelayError } from './errors.ts'
import type { Logger } from './log.ts'
import { newGrantId, openRefreshToken, RefreshTokenRefusal, sealRefreshToken } from './refresh-seal.ts'
import type { RefreshPayload, RefreshSealKeys } from './refresh-seal.ts'
import { readTokenAnswer, withRefreshToken } from './token-answer.ts'
import type { TokenAnswer } from './token-answer.ts'
import type { TokenOutcome, UnityClient } from './unity.ts'

/**
 * What the relay records about each grant. The sealed token alone proves only that the relay
 * issued it; a record can also say whether it is still the grant's newest generation.
 */
export interface RefreshGrants {
  /** A pickup starts grant `first` (generation 0); called before its token is sealed. */
  start(first: RefreshPayload): Promise<void>
  /**
   * One refresh of the grant that `presented` belongs to. `exchange` asks Unity and seals the
   * next generation. An implementation may refuse before calling it (a revoked grant, an older
   * generation), record the generation it sealed, or give a concurrent caller the answer of the
   * refresh already under way.
   */
  refresh(presented: RefreshPayload, exchange: () => Promise<TokenOutcome>): Promise<TokenOutcome>
  /** `POST /revoke` (RFC 7009): the grant `presented` belongs to refreshes no more. */
  revoke(presented: RefreshPayload): Promise<void>
}

/** No grant records: any token the relay sealed refreshes, as often as Unity allows. */
export const UNRECORDED_GRANTS: RefreshGrants = {
  start: () => Promise.resolve(),
  refresh: (_presented, exchange) => exchange(),
  revoke: () => Promise.resolve(),
}

/** What sealing needs from the relay. */
export interface SealingDeps {
  /** The sealing keys, imported once per isolate on first use. */
  readonly keys: () => Promise<RefreshSealKeys>
  readonly grants: RefreshGrants
  readonly unity: UnityClient
  readonly log: Logger
  /** The clock, in Unix seconds. */
  readonly nowSeconds: () => number
}

/** A refresh request as `/token` validated it. */
export interface RefreshRequest {
  readonly refreshToken: string
  readonly scope: string | undefined
  /** The request's verified DPoP proof, not yet spent. */
  readonly proof?: PresentedProof | undefined
}

/**
 * A pickup's outcome with Unity's refresh token sealed, as generation 0 of a fresh grant whose
 * scope is the one Unity's answer names. An answer without a refresh token passes unchanged; one
 * the relay cannot read becomes `unavailable`, like any unreadable answer of Unity's.
 *
 * @param jkt The DPoP key's thumbprint when the pickup proved one (RFC 9449 §5): the token is bound to it.
 * @param grantId The new grant's id, when the caller must know it (to revoke it on a code's reuse).
 */
export async function sealPickup(deps: SealingDeps, outcome: TokenOutcome, jkt?: string, grantId: string = newGrantId()): Promise<TokenOutcome> {
  if (outcome.kind !== 'tokens') return outcome
  const answer = readAnswer(outcome.body)
  if (answer instanceof RelayError) return { kind: 'unavailable', error: answer }
  if (!answer.refreshToken) return outcome
  const first: RefreshPayload = {
    unityRefreshToken: answer.refreshToken.value,
    grantId,
    generation: 0,
    scope: grantedScope(answer) ?? '',
    issuedAt: deps.nowSeconds(),
    ...(jkt === undefined ? {} : { jkt }),
  }
  await deps.grants.start(first)
  return seal(deps, answer, first)
}

/**
 * A refresh with a sealed token: open it (anything that does not open is `invalid_grant` and
 * never reaches Unity), refresh with Unity's token inside, and seal Unity's next refresh token,
 * or the same one again when Unity answers none, so the app always holds one for next time.
 *
 * A token bound to a DPoP key refreshes only with a proof made with that key; an unbound token
 * refreshed with a proof is bound to its key from then on (RFC 9449 §5). The proof is spent just
 * before the grant's refresh.
 *
 * @throws {RelayError} `invalid_grant` when the token does not open, or is bound and the proof is missing or of another key.
 * @throws {RelayError} `invalid_dpop_proof` when the proof was used already.
 */
export async function refreshSealed(deps: SealingDeps, request: RefreshRequest): Promise<TokenOutcome> {
  const keys = await deps.keys()
  // RFC 6749 §10.4: Unity's refresh token is for the client it was issued to, the relay, so one the relay did not seal never reaches Unity.
  const presented = await openRefreshToken(keys, request.refreshToken).catch((error: unknown) => {
    if (error instanceof RelayError && error.cause instanceof RefreshTokenRefusal) deps.log.warn('token.refresh_refused', { error: error.code, outcome: error.cause.reason })
    throw error
  })
  // RFC 9449 §5: a bound refresh token is the key holder's alone, so a thief without the private key gets nothing.
  if (presented.jkt !== undefined && request.proof?.jkt !== presented.jkt) {
    deps.log.warn('token.refresh_refused', { error: 'invalid_grant', outcome: request.proof ? 'dpop_key_mismatch' : 'dpop_proof_missing' })
    throw new RelayError(
      'invalid_grant',
      request.proof ? 'This refresh token is bound to another DPoP key than the one that made the proof.' : 'This refresh token is bound to a DPoP key: send a DPoP proof made with it.',
    )
  }
  await request.proof?.spend()
  const outcome = await deps.grants.refresh(presented, async () => {
    const refreshed = await deps.unity.refresh({ refreshToken: presented.unityRefreshToken, scope: request.scope })
    if (refreshed.kind !== 'tokens') return refreshed
    const answer = readAnswer(refreshed.body)
    if (answer instanceof RelayError) return { kind: 'unavailable', error: answer }
    // RFC 6749 §6: Unity may issue a new refresh token; legacy Spring answers the same one, or none.
    const next: RefreshPayload = {
      ...presented,
      // RFC 9449 §5: a public client may bind an unbound refresh token at a refresh; a bound one keeps its key.
      ...(request.proof ? { jkt: request.proof.jkt } : {}),
      unityRefreshToken: answer.refreshToken?.value ?? presented.unityRefreshToken,
      generation: presented.generation + 1,
      scope: grantedScope(answer) ?? request.scope ?? presented.scope,
      issuedAt: deps.nowSeconds(),
    }
    return seal(deps, answer, next)
  })
  deps.log.info('token.refreshed', { outcome: outcome.kind, ...(outcome.kind === 'tokens' ? {} : { error: outcome.error.code }) })
  return outcome
}

async function seal(deps: SealingDeps, answer: TokenAnswer, payload: RefreshPayload): Promise<TokenOutcome> {
  try {
    return { kind: 'tokens', body: withRefreshToken(answer, await sealRefreshToken(await deps.keys(), payload)) }
  } catch (error) {
    if (error instanceof RelayError) return { kind: 'unavailable', error }
    throw error
  }
}

function readAnswer(body: string): TokenAnswer | RelayError {
  try {
    return readTokenAnswer(body)
  } catch (error) {
    if (error instanceof RelayError) return error
    throw error
  }
}

/** The scope Unity's answer names (RFC 6749 §5.1), when it is one the relay would forward itself. */
function grantedScope(answer: TokenAnswer): string | undefined {
  return answer.scope !== undefined && isScope(answer.scope) ? answer.scope : undefined
}
