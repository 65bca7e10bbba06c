/**
 * The DPoP verifier's cases (test/dpop/cases.ts) on Deno, on its WebCrypto.
 */
import { dpopCases } from '../dpop/cases.ts'

for (const dpopCase of dpopCases) Deno.test(`DPoP proofs on Deno: ${dpopCase.name}`, () => dpopCase.run())
