/**
 * The DPoP verifier's cases (test/dpop/cases.ts) inside workerd, on its WebCrypto.
 */
import { describe, it } from 'vitest'
import { dpopCases } from '../dpop/cases.ts'

describe('DPoP proofs (RFC 9449 §4.3) in workerd', () => {
  for (const dpopCase of dpopCases) it(dpopCase.name, () => dpopCase.run())
})
