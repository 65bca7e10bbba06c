/**
 * @module
 * fast-check properties of the DPoP verifier, runtime-neutral:
 * - any string, and any splice of a valid proof, is refused with `invalid_dpop_proof` and nothing
 *   else (no TypeError, no 500);
 * - a really signed JWS whose header and claims are each drawn valid or not is accepted exactly
 *   when every part was drawn valid and nothing was tampered with, and then gives the key's jkt.
 */
import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { toBase64Url } from '../../src/base64url.ts'
import { jwkThumbprint, verifyDpopProof } from '../../src/dpop.ts'
import type { DpopExpectations, DpopPublicJwk } from '../../src/dpop.ts'
import { RelayError } from '../../src/errors.ts'
import { NOW, PROOF_KEY_ALGS, SIGN, TOKEN_ENDPOINT, encodeJson, keyPair, privateJwk, publicJwk, rawProof, signParts } from '../support/dpop-proofs.ts'
import type { ProofKeyAlg } from '../support/dpop-proofs.ts'

const AT_NOW: DpopExpectations = { htm: 'POST', htu: TOKEN_ENDPOINT, nowSeconds: NOW }
const NONCE = 'fz-nonce-0123456789'

/** A value drawn for one part of a proof, and whether the verifier must accept it. */
interface Drawn<T> {
  readonly value: T
  readonly valid: boolean
}

/** Mostly valid, so that about a third of the proofs are valid in every part. */
function part<T>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<T>): fc.Arbitrary<Drawn<T>> {
  return fc.oneof(
    { arbitrary: valid.map((value) => ({ value, valid: true })), weight: 7 },
    { arbitrary: invalid.map((value) => ({ value, valid: false })), weight: 1 },
  )
}

/** Present and drawn, or absent (`undefined`) when valid; for optional members. */
const ABSENT = undefined

/** Asserts `verifyDpopProof` refused with `invalid_dpop_proof` and nothing else. */
async function assertRefused(proof: string, expected: DpopExpectations): Promise<void> {
  try {
    const verified = await verifyDpopProof(proof, expected)
    assert.fail(`accepted: ${JSON.stringify(verified)} for ${proof.slice(0, 200)}`)
  } catch (error) {
    if (!(error instanceof RelayError)) throw error
    assert.equal(error.code, 'invalid_dpop_proof', error.message)
    assert.match(error.description, /^The DPoP proof [a-z]/)
  }
}

/** Strings, including near-misses built from base64url, JSON and real proofs. */
function arbitraryProofs(valid: readonly string[]): fc.Arbitrary<string> {
  const splice = fc
    .record({ proof: fc.constantFrom(...valid), at: fc.nat(), remove: fc.nat(40), insert: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('.', ',', ', ', '=', ' ', 'A', '+', '/')) })
    .map(({ proof, at, remove, insert }) => {
      const start = at % (proof.length + 1)
      return proof.slice(0, start) + insert + proof.slice(start + remove)
    })
  return fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.string({ unit: 'binary', maxLength: 100 }),
    fc.stringMatching(/^[A-Za-z0-9_.,=+/ -]{0,400}$/),
    fc.tuple(fc.jsonValue(), fc.jsonValue(), fc.uint8Array({ maxLength: 600 })).map(([header, claims, signature]) => `${encodeJson(header)}.${encodeJson(claims)}.${toBase64Url(signature)}`),
    fc.tuple(fc.constantFrom(...valid), fc.constantFrom(...valid), fc.constantFrom('.', ', ', ',', '', ' ')).map(([a, b, glue]) => a + glue + b),
    { arbitrary: splice, weight: 3 },
  )
}

/** What the structured property signs: every part with its validity. */
interface Case {
  readonly key: ProofKeyAlg
  readonly header: Record<string, unknown>
  readonly claims: Record<string, unknown>
  readonly expected: DpopExpectations
  readonly valid: boolean
  readonly tamper: { readonly at: number; readonly to: string } | undefined
}

const KNOWN_HEADER = new Set(['typ', 'alg', 'jwk', 'crit'])
const KNOWN_CLAIMS = new Set(['htm', 'htu', 'iat', 'jti', 'nonce', 'ath'])
const extras = (known: Set<string>) =>
  fc.dictionary(fc.string({ maxLength: 8 }).filter((name) => !known.has(name)), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 })
const notEqual = <T>(arbitrary: fc.Arbitrary<T>, value: unknown) => arbitrary.filter((drawn) => JSON.stringify(drawn) !== JSON.stringify(value))

/** The algorithms a key of each kind may be named with. */
const ALG_NAMES: Readonly<Record<ProofKeyAlg, readonly string[]>> = { ES256: ['ES256'], Ed25519: ['EdDSA', 'Ed25519'], RS256: ['RS256'], PS256: ['PS256'] }

interface Keys {
  readonly publicJwk: Readonly<Record<ProofKeyAlg, Record<string, string>>>
  readonly privateJwk: Readonly<Record<ProofKeyAlg, Record<string, unknown>>>
  readonly otherJwk: Readonly<Record<ProofKeyAlg, Record<string, string>>>
}

function structuredCases(keys: Keys): fc.Arbitrary<Case> {
  return fc.constantFrom(...PROOF_KEY_ALGS).chain((key) => {
    const jwk = keys.publicJwk[key]
    const otherKinds = PROOF_KEY_ALGS.filter((other) => other !== key)
    const validAlgs: readonly unknown[] = ALG_NAMES[key]
    const member = fc.constantFrom(...Object.keys(jwk))
    return fc.record({
      typ: part(fc.constant('dpop+jwt'), notEqual(fc.oneof(fc.constantFrom('JWT', 'DPOP+JWT', 'application/dpop+jwt', ABSENT), fc.jsonValue()), 'dpop+jwt')),
      alg: part(
        fc.constantFrom(...ALG_NAMES[key]),
        fc.oneof(
          fc.constantFrom('none', 'HS256', 'ES384', 'RS512', 'ES256K', 'EdDSA ', ABSENT, ...['ES256', 'EdDSA', 'Ed25519', 'PS256', 'RS256'].filter((name) => !ALG_NAMES[key].includes(name))),
          fc.jsonValue().filter((value) => !validAlgs.includes(value)),
        ),
      ),
      jwk: part<unknown>(
        fc.record({ kid: fc.option(fc.string({ maxLength: 20 }), { nil: ABSENT }), use: fc.constantFrom(ABSENT, 'sig', 'enc'), alg: fc.option(fc.string({ maxLength: 8 }), { nil: ABSENT }) }).map((optional) => ({ ...jwk, ...optional })),
        fc.oneof(
          fc.constant(keys.privateJwk[key]),
          fc.constant(keys.otherJwk[key]),
          fc.constantFrom(...otherKinds.map((other) => keys.publicJwk[other])),
          fc.tuple(member, fc.jsonValue()).filter(([name, value]) => jwk[name] !== value).map(([name, value]) => ({ ...jwk, [name]: value })),
          fc.constantFrom('d', 'k', 'p').map((name) => ({ ...jwk, [name]: 'AQAB' })),
          fc.jsonValue(),
          fc.constant(ABSENT),
        ),
      ),
      crit: part<unknown>(fc.constant(ABSENT), fc.oneof(fc.constant([]), fc.jsonValue())),
      headerExtras: extras(KNOWN_HEADER),
      htm: part<unknown>(fc.constant('POST'), notEqual(fc.oneof(fc.constantFrom('GET', 'post', 'PUT', ABSENT), fc.jsonValue()), 'POST')),
      htu: part<unknown>(
        fc.oneof(
          fc.constantFrom(TOKEN_ENDPOINT, 'HTTPS://Relay.Example.COM/token', 'https://relay.example.com:443/token', 'https://relay.example.com/%74oken', 'https://relay.example.com/x/../token'),
          fc.tuple(fc.stringMatching(/^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]{0,30}$/), fc.constantFrom('?', '#')).map(([rest, mark]) => `${TOKEN_ENDPOINT}${mark}${rest}`),
        ),
        fc.oneof(
          fc.constantFrom('https://relay.example.com/token/', 'http://relay.example.com/token', 'https://relay.example.org/token', 'https://relay.example.com:8443/token', 'https://u@relay.example.com/token', '/token', ABSENT),
          fc.string({ maxLength: 40 }).filter((value) => !/relay\.example\.com/i.test(value)),
          fc.jsonValue().filter((value) => typeof value !== 'string'),
        ),
      ),
      iat: part<unknown>(
        fc.oneof(fc.integer({ min: NOW - 60, max: NOW + 5 }), fc.double({ min: NOW - 60, max: NOW + 5, noNaN: true })),
        fc.oneof(
          fc.integer({ min: NOW - 100_000, max: NOW - 61 }),
          fc.integer({ min: NOW + 6, max: NOW + 100_000 }),
          fc.double({ min: NOW - 61, max: NOW - 60, noNaN: true, maxExcluded: true }),
          fc.double({ min: NOW + 5, max: NOW + 6, noNaN: true, minExcluded: true }),
          fc.jsonValue().filter((value) => typeof value !== 'number'),
          fc.constant(ABSENT),
        ),
      ),
      jti: part<unknown>(
        fc.string({ minLength: 16, maxLength: 128 }),
        fc.oneof(fc.string({ maxLength: 15 }), fc.string({ minLength: 129, maxLength: 300 }), fc.jsonValue().filter((value) => typeof value !== 'string'), fc.constant(ABSENT)),
      ),
      expectNonce: fc.boolean(),
      nonceRight: fc.boolean(),
      otherNonce: fc.oneof(notEqual(fc.string({ maxLength: 30 }), NONCE), fc.jsonValue().filter((value) => typeof value !== 'string'), fc.constant(ABSENT)),
      ath: part<unknown>(fc.constant(ABSENT), fc.oneof(fc.string({ maxLength: 50 }), fc.jsonValue())),
      claimExtras: extras(KNOWN_CLAIMS),
      tamper: fc.oneof(
        { arbitrary: fc.constant(undefined), weight: 7 },
        { arbitrary: fc.record({ at: fc.nat(), to: fc.constantFrom(...'ABCabc019-_.+/= '.split('')) }), weight: 1 },
      ),
    }).map((drawn): Case => {
      const header: Record<string, unknown> = { ...drawn.headerExtras, typ: drawn.typ.value, alg: drawn.alg.value, jwk: drawn.jwk.value, crit: drawn.crit.value }
      const nonce = drawn.nonceRight ? NONCE : drawn.otherNonce
      const claims: Record<string, unknown> = { ...drawn.claimExtras, htm: drawn.htm.value, htu: drawn.htu.value, iat: drawn.iat.value, jti: drawn.jti.value, nonce, ath: drawn.ath.value }
      for (const record of [header, claims]) for (const [name, value] of Object.entries(record)) if (value === undefined) delete record[name]
      const parts = [drawn.typ, drawn.alg, drawn.jwk, drawn.crit, drawn.htm, drawn.htu, drawn.iat, drawn.jti, drawn.ath]
      // Without an expected nonce any nonce claim is fine; with one, only the right nonce is.
      const nonceValid = !drawn.expectNonce || drawn.nonceRight
      return {
        key,
        header,
        claims,
        expected: drawn.expectNonce ? { ...AT_NOW, nonce: NONCE } : AT_NOW,
        valid: nonceValid && parts.every((drawnPart) => drawnPart.valid),
        tamper: drawn.tamper,
      }
    })
  })
}

/** The DPoP verifier's two properties, each at `numRuns` generated proofs. */
export function dpopProperties(numRuns: number): readonly { readonly name: string; run(): Promise<void> }[] {
  return [
    {
      name: `fuzz: DPoP verifier, arbitrary strings and splices of valid proofs (${numRuns} cases): only ever invalid_dpop_proof`,
      async run() {
        const valid = await Promise.all(PROOF_KEY_ALGS.map((alg) => rawProof(alg)))
        for (const proof of valid) await verifyDpopProof(proof, AT_NOW)
        await fc.assert(
          fc.asyncProperty(arbitraryProofs(valid), async (proof) => {
            if (valid.includes(proof)) await verifyDpopProof(proof, AT_NOW)
            else await assertRefused(proof, AT_NOW)
          }),
          { numRuns },
        )
      },
    },
    {
      name: `fuzz: DPoP verifier, signed JWS with generated headers and claims (${numRuns} cases): accepted exactly when every part is valid`,
      async run() {
        const entries = async (make: (alg: ProofKeyAlg) => Promise<unknown>) =>
          Object.fromEntries(await Promise.all(PROOF_KEY_ALGS.map(async (alg) => [alg, await make(alg)] as const)))
        const keys = {
          publicJwk: await entries(async (alg) => publicJwk(await keyPair(alg))),
          privateJwk: await entries(async (alg) => privateJwk(await keyPair(alg))),
          otherJwk: await entries(async (alg) => publicJwk(await keyPair(alg, 'other'))),
        } as Keys
        const thumbprints = await entries(async (alg) => jwkThumbprint(keys.publicJwk[alg] as DpopPublicJwk))
        let accepted = 0
        await fc.assert(
          fc.asyncProperty(structuredCases(keys), async (drawn) => {
            let proof = await signParts(encodeJson(drawn.header), encodeJson(drawn.claims), await keyPair(drawn.key), SIGN[drawn.key])
            let tampered = false
            if (drawn.tamper) {
              const at = drawn.tamper.at % proof.length
              tampered = proof[at] !== drawn.tamper.to
              proof = proof.slice(0, at) + drawn.tamper.to + proof.slice(at + 1)
            }
            if (drawn.valid && !tampered && proof.length <= 8192) {
              const verified = await verifyDpopProof(proof, drawn.expected)
              assert.equal(verified.jkt, thumbprints[drawn.key])
              assert.equal(verified.jti, drawn.claims.jti)
              accepted++
            } else {
              await assertRefused(proof, drawn.expected)
            }
          }),
          { numRuns },
        )
        // The generator is only useful if it reaches both answers often.
        assert.ok(accepted > numRuns / 10, `only ${accepted} of ${numRuns} proofs were valid`)
      },
    },
  ]
}
