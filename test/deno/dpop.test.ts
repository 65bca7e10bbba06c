/**
 * The DPoP verifier's cases (test/dpop/cases.ts) on Deno, on its WebCrypto, and its fuzz
 * properties (test/fuzz/dpop.ts) at 1,000 cases each: Deno's WebCrypto throws where the others
 * return false (an EC point off the curve passes its import), so its failures get their own run.
 */
import { dpopCases } from '../dpop/cases.ts'
import { dpopProperties } from '../fuzz/dpop.ts'

for (const dpopCase of dpopCases) Deno.test(`DPoP proofs on Deno: ${dpopCase.name}`, () => dpopCase.run())

for (const property of dpopProperties(1000)) Deno.test(`DPoP proofs on Deno: ${property.name}`, () => property.run())
