/**
 * @module
 * The `DPoP` header of a `/token` request (RFC 9449 §5): verified before anything else, and spent
 * in the store's replay cache just before the relay acts on it.
 */
import { sha256Base64Url } from './base64url.ts'
import { verifyDpopProof } from './dpop.ts'
import { RelayError } from './errors.ts'
import { guardStore } from './store.ts'
import type { CodeStore } from './store.ts'

/** A verified proof, not yet spent. */
export interface PresentedProof {
  /** The RFC 7638 thumbprint of the proof's key. */
  readonly jkt: string
  /**
   * Records the proof in the replay cache; call it once, just before the request takes effect
   * (a Unity call), so a poll that finds nothing to exchange costs no store write.
   *
   * @throws {RelayError} `invalid_dpop_proof` when the proof was used already.
   * @throws {RelayError} `store_unavailable` when the store fails.
   */
  spend(): Promise<void>
}

/** What checking a request's proof needs. */
export interface ProofContext {
  /** The token endpoint as the client sees it: the relay's public origin and `/token`. */
  readonly htu: string
  readonly nowSeconds: number
  readonly store: CodeStore
  /** `REQUIRE_DPOP`. */
  readonly required: boolean
}

/**
 * Verifies the request's `DPoP` header, if any, by RFC 9449 §4.3. `header` is the value as
 * `Headers.get` returns it, so two headers arrive joined by ", ".
 *
 * @throws {RelayError} `invalid_dpop_proof` for a bad proof, two headers, or none when one is required.
 *
 * @example
 * const proof = await presentedProof(c.req.header('DPoP'), { htu: `${origin}/token`, nowSeconds, store, required: false })
 */
export async function presentedProof(header: string | undefined, context: ProofContext): Promise<PresentedProof | undefined> {
  if (header === undefined) {
    // RFC 9449 §5: a token request for DPoP-bound tokens MUST carry a valid proof, and one without any is refused with the proof error.
    if (context.required) throw new RelayError('invalid_dpop_proof', 'This relay requires a DPoP proof (RFC 9449) on every token request: send a DPoP header.')
    return undefined
  }
  // RFC 9449 §4.3 step 1: exactly one DPoP header; a compact JWS holds no comma.
  if (header.includes(',')) throw new RelayError('invalid_dpop_proof', 'Send one DPoP header, not several.')
  const proof = await verifyDpopProof(header, { htm: 'POST', htu: context.htu, nowSeconds: context.nowSeconds })
  // One fixed-length key per (jkt, jti): jkt is 43 characters without a dot, so the pair has one spelling.
  const key = await sha256Base64Url(`${proof.jkt}.${proof.jti}`)
  return {
    jkt: proof.jkt,
    async spend() {
      const use = await guardStore('check DPoP proofs in', context.store.rememberProof(key, proof.replayableUntil, context.nowSeconds))
      // RFC 9449 §11.1: a proof is accepted once, so a captured one is no use to whoever captured it.
      if (use === 'seen') throw new RelayError('invalid_dpop_proof', 'This DPoP proof was used already: make a new proof, with a new jti, for every request.')
    },
  }
}
