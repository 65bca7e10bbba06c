/**
 * @module
 * The standard code grant at `POST /token` (RFC 6749 §4.1.3, RFC 7636 §4.6): the app's verifier
 * finds the flow, and the relay code, `client_id` and `redirect_uri` must be the ones the flow's
 * record is bound to. Only then is the record claimed for good and Unity's own code exchanged.
 * Client credentials the app sends are ignored: the relay authenticates to Unity itself.
 */
import { sha256Base64Url } from './base64url.ts'
import type { PresentedProof } from './dpop-request.ts'
import { RelayError } from './errors.ts'
import type { StandardCodeInput } from './inputs.ts'
import type { Logger } from './log.ts'
import { CLIENT_ID_PATTERN } from './oauth-values.ts'
import { newGrantId } from './refresh-seal.ts'
import { sealPickup } from './refresh.ts'
import type { SealingDeps } from './refresh.ts'
import { guardStore } from './store.ts'
import type { CodeStore } from './store.ts'
import type { TokenOutcome, UnityClient } from './unity.ts'

/** What the code grant needs from the relay. */
export interface CodeGrantDeps {
  readonly store: CodeStore
  readonly unity: UnityClient
  readonly log: Logger
  /** Present under `REFRESH_TOKENS=sealed`. */
  readonly sealing: SealingDeps | undefined
  readonly nowSeconds: () => number
}

/** One standard code grant request, as `/token` read it. */
export interface CodeGrantRequest {
  readonly verifier: string
  /** `S256(verifier)`, the flow's key. */
  readonly challenge: string
  readonly standard: StandardCodeInput
  /** The request's `Authorization` header: a Basic one may name the client (RFC 6749 §2.3.1); its secret is ignored. */
  readonly authorization: string | undefined
  /** The request's verified DPoP proof, not yet spent. */
  readonly proof: PresentedProof | undefined
  /** The flow's log id. */
  readonly flow: string
}

/**
 * Exchanges a relay code for Unity's tokens, once.
 *
 * @throws {RelayError} `invalid_request` without `redirect_uri` or `client_id`; `invalid_grant`
 *   for a code that is unknown, expired, used, bound to another client or redirect URI, or
 *   presented with another verifier (which finds no flow).
 */
export async function exchangeAppCode(deps: CodeGrantDeps, request: CodeGrantRequest): Promise<TokenOutcome> {
  const { store, unity, log, sealing } = deps
  const { standard, flow } = request
  const basic = basicClientId(request.authorization)
  // Credentials of an app that used to talk to Unity directly: never checked, never forwarded, never logged.
  if (request.authorization !== undefined || standard.sentSecret) {
    log.debug?.('token.client_credentials_ignored', { flow, outcome: request.authorization !== undefined ? 'authorization_header' : 'client_secret' })
  }
  const clientId = standard.clientId ?? basic
  // RFC 6749 §4.1.3: a public client names itself, and the redirect URI of the authorization request is required again.
  if (clientId === undefined) throw new RelayError('invalid_request', 'client_id is missing: send the client_id the authorization request named.')
  if (standard.redirectUri === undefined) throw new RelayError('invalid_request', 'redirect_uri is missing: send the redirect_uri the authorization request named.')
  const codeHash = await sha256Base64Url(standard.code)
  const now = deps.nowSeconds()
  const pickup = await guardStore('read', store.claim(request.challenge, now))
  if (pickup.kind === 'spent') {
    // RFC 6749 §4.1.2: a code used twice is refused, and what was issued for it is revoked where possible.
    const grant = pickup.trace?.code_hash === codeHash ? pickup.trace.grant : undefined
    if (grant !== undefined) {
      await guardStore('write to', store.revokeGrant(grant, now))
      log.warn('token.code_reused', { flow, grant, outcome: 'grant_revoked' })
    }
    throw invalidGrant('This code was used already. Start a new sign-in.')
  }
  if (pickup.kind !== 'claimed') throw invalidGrant('This code is not valid: it is unknown, expired, or being exchanged already.')
  const { claim } = pickup
  const binding = claim.record.app
  // RFC 6749 §4.1.3 and RFC 7636 §4.6: the code, its client and its redirect URI must all be the flow's; a mismatch spends nothing.
  const mismatch =
    binding === undefined ? 'not_standard' : binding.code_hash !== codeHash ? 'code' : binding.client_id !== clientId ? 'client_id' : binding.redirect_uri !== standard.redirectUri ? 'redirect_uri' : undefined
  if (mismatch !== undefined) {
    await guardStore('keep the sign-in in', claim.release())
    log.warn('token.code_refused', { flow, outcome: mismatch })
    throw invalidGrant('This code is not valid for this client, redirect_uri and code_verifier.')
  }
  await request.proof?.spend().catch(async (refusal: unknown) => {
    await claim.release().catch(() => {})
    throw refusal
  })
  const grantId = newGrantId()
  const exchanged = unity.exchangeCode({ code: claim.record.code, redirectUri: claim.record.redirect_uri, verifier: request.verifier })
  const outcome = await (sealing ? exchanged.then((answer) => sealPickup(sealing, answer, request.proof?.jkt, grantId)) : exchanged).catch(async (fault: unknown) => {
    await claim.release().catch(() => {})
    throw fault
  })
  if (outcome.kind === 'unavailable') {
    await guardStore('keep the sign-in in', claim.release())
  } else {
    const trace = sealing && outcome.kind === 'tokens' ? { code_hash: codeHash, grant: grantId } : { code_hash: codeHash }
    await claim.consume(trace).catch(() => log.warn('token.consume_failed', { flow }))
  }
  return outcome
}

/** The client id of an RFC 6749 §2.3.1 Basic header (form-encoded, then base64), or `undefined`. */
function basicClientId(authorization: string | undefined): string | undefined {
  const match = authorization === undefined ? null : /^Basic ([A-Za-z0-9+/]+={0,2})$/i.exec(authorization)
  if (!match) return undefined
  try {
    const decoded = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(atob(match[1]!), (char) => char.charCodeAt(0)))
    const colon = decoded.indexOf(':')
    if (colon < 1) return undefined
    const id = decodeURIComponent(decoded.slice(0, colon).replaceAll('+', ' '))
    return CLIENT_ID_PATTERN.test(id) ? id : undefined
  } catch {
    return undefined
  }
}

function invalidGrant(description: string): RelayError {
  return new RelayError('invalid_grant', description)
}
