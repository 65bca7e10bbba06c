/**
 * @module
 * The DPoP verifier's cases, runtime-neutral: `test/workers/dpop.test.ts` runs them in workerd and
 * `test/deno/dpop.test.ts` on Deno, so each runtime's WebCrypto meets the same vectors.
 */
import { strict as assert } from 'node:assert'
import { toBase64Url, fromBase64Url } from '../../src/base64url.ts'
import {
  DPOP_MAX_PROOF_LENGTH,
  DPOP_SIGNING_ALGS,
  jwkThumbprint,
  verifyDpopProof,
} from '../../src/dpop.ts'
import type { DpopExpectations, DpopOptions, DpopPublicJwk, VerifiedDpopProof } from '../../src/dpop.ts'
import { RelayError } from '../../src/errors.ts'
import {
  NOW,
  PROOF_KEY_ALGS,
  SIGN,
  TOKEN_ENDPOINT,
  decodePart,
  encodeJson,
  keyPair,
  oauth4webapiProof,
  oauth4webapiThumbprint,
  privateJwk,
  publicJwk,
  rawProof,
  signParts,
  validClaims,
} from '../support/dpop-proofs.ts'

/** One runtime-neutral unit case. */
export interface UnitCase {
  readonly name: string
  run(): Promise<void>
}

const cases: UnitCase[] = []
function unit(name: string, run: () => Promise<void>): void {
  cases.push({ name, run })
}

const AT_NOW: DpopExpectations = { htm: 'POST', htu: TOKEN_ENDPOINT, nowSeconds: NOW }

/** The relay's clock for an oauth4webapi proof: the second it was made. */
function madeAt(proof: string): number {
  return decodePart(proof, 1).iat as number
}

/**
 * Asserts the proof is refused with `invalid_dpop_proof` for the reason `reason` names, and that
 * the description repeats nothing of the proof.
 */
async function assertRefused(proof: string, reason: RegExp, expected: DpopExpectations = AT_NOW, options?: DpopOptions): Promise<void> {
  let verified: VerifiedDpopProof | undefined
  try {
    verified = await verifyDpopProof(proof, expected, options)
  } catch (error) {
    assert.ok(error instanceof RelayError, `not a RelayError: ${String(error)}`)
    assert.equal(error.code, 'invalid_dpop_proof')
    assert.equal(error.status, 400)
    assert.equal(error.oauthError, 'invalid_dpop_proof')
    assert.match(error.description, reason)
    assert.match(error.description, /^The DPoP proof [^"<>]*\.$/)
    for (const part of proof.split(/[.,\s]/)) {
      if (part.length >= 8) assert.equal(error.description.includes(part.slice(0, 8)), false, 'the description repeats the proof')
    }
    return
  }
  assert.fail(`accepted: ${JSON.stringify(verified)}`)
}

/** Flips one bit of the part's bytes and re-encodes it, so the spelling stays canonical. */
function flipBit(proof: string, index: 0 | 1 | 2, bit = 0): string {
  const parts = proof.split('.')
  const bytes = fromBase64Url(parts[index] ?? '')
  assert.ok(bytes !== null)
  bytes[Math.floor(bit / 8) % bytes.length]! ^= 1 << (bit % 8)
  parts[index] = toBase64Url(bytes)
  return parts.join('.')
}

/** Replaces the payload and keeps the old signature. */
function withPayload(proof: string, claims: Record<string, unknown>): string {
  const [header = '', , signature = ''] = proof.split('.')
  return `${header}.${encodeJson(claims)}.${signature}`
}

// --- Honest proofs from an independent implementation -----------------------------------------

for (const alg of PROOF_KEY_ALGS) {
  unit(`an oauth4webapi ${alg} proof verifies; jkt equals oauth4webapi's thumbprint and the public JWK's`, async () => {
    const pair = await keyPair(alg)
    const proof = await oauth4webapiProof(pair)
    const header = decodePart(proof, 0)
    const claims = decodePart(proof, 1)
    assert.equal(header.alg, alg)
    const verified = await verifyDpopProof(proof, { htm: 'POST', htu: TOKEN_ENDPOINT, nowSeconds: madeAt(proof) })
    const jkt = await oauth4webapiThumbprint(pair)
    assert.equal(verified.jkt, jkt)
    assert.equal(await jwkThumbprint((await publicJwk(pair)) as DpopPublicJwk), jkt)
    assert.equal(verified.jti, claims.jti)
    assert.equal(verified.iat, claims.iat)
    assert.equal(verified.replayableUntil, (claims.iat as number) + 60)
    assert.equal(verified.nonce, undefined)
    assert.match(verified.jkt, /^[A-Za-z0-9_-]{43}$/)
  })
}

unit('an oauth4webapi Ed25519 proof with alg remapped to EdDSA (its documented remapEd25519) verifies, same jkt', async () => {
  const pair = await keyPair('Ed25519')
  const proof = await oauth4webapiProof(pair, { modify: (header) => { header.alg = 'EdDSA' } })
  assert.equal(decodePart(proof, 0).alg, 'EdDSA')
  const verified = await verifyDpopProof(proof, { ...AT_NOW, nowSeconds: madeAt(proof) })
  assert.equal(verified.jkt, await oauth4webapiThumbprint(pair))
})

unit('an oauth4webapi proof made after the server sent DPoP-Nonce carries it and verifies with it expected', async () => {
  const pair = await keyPair('ES256')
  const proof = await oauth4webapiProof(pair, { nonce: 'relay-nonce-1' })
  const verified = await verifyDpopProof(proof, { ...AT_NOW, nowSeconds: madeAt(proof), nonce: 'relay-nonce-1' })
  assert.equal(verified.nonce, 'relay-nonce-1')
  await assertRefused(proof, /nonce is not the one the relay provided/, { ...AT_NOW, nowSeconds: madeAt(proof), nonce: 'relay-nonce-2' })
})

unit('RSA keys of 4096 bits verify (RS256 and PS256), through oauth4webapi', async () => {
  for (const alg of ['RS256', 'PS256'] as const) {
    const pair = await keyPair(alg, 'big', 4096)
    const proof = await oauth4webapiProof(pair)
    assert.equal((await verifyDpopProof(proof, { ...AT_NOW, nowSeconds: madeAt(proof) })).jkt, await oauth4webapiThumbprint(pair))
  }
})

unit('a proof for a loopback http token endpoint verifies against the same URL (the dev relay)', async () => {
  const proof = await oauth4webapiProof(await keyPair('ES256'), { url: 'http://127.0.0.1:8787/token' })
  await verifyDpopProof(proof, { htm: 'POST', htu: 'http://127.0.0.1:8787/token', nowSeconds: madeAt(proof) })
  await assertRefused(proof, /htu/, { htm: 'POST', htu: 'http://127.0.0.1:8788/token', nowSeconds: madeAt(proof) })
})

unit('DPOP_SIGNING_ALGS lists exactly what verifies: ES256, EdDSA, Ed25519, PS256, RS256', async () => {
  assert.deepEqual([...DPOP_SIGNING_ALGS], ['ES256', 'EdDSA', 'Ed25519', 'PS256', 'RS256'])
  for (const [alg, key] of [['ES256', 'ES256'], ['EdDSA', 'Ed25519'], ['Ed25519', 'Ed25519'], ['PS256', 'PS256'], ['RS256', 'RS256']] as const) {
    await verifyDpopProof(await rawProof(key, { header: { alg } }), AT_NOW)
  }
})

// --- RFC 7638 thumbprints ---------------------------------------------------------------------

unit('jwkThumbprint: RFC 7638 §3.1 example (RSA) gives NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs', async () => {
  const key = {
    kty: 'RSA',
    n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
    e: 'AQAB',
    alg: 'RS256',
    kid: '2011-04-29',
  } as const
  assert.equal(await jwkThumbprint(key), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs')
})

unit('jwkThumbprint: RFC 8037 §A.3 example (Ed25519) gives kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k', async () => {
  const key = { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' } as const
  assert.equal(await jwkThumbprint(key), 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k')
})

unit("a proof's jkt ignores the jwk's optional members (kid, use, alg, key_ops)", async () => {
  const plain = await verifyDpopProof(await rawProof('ES256'), AT_NOW)
  const jwk = { ...(await publicJwk(await keyPair('ES256'))), kid: 'k1', use: 'sig', alg: 'ES256', key_ops: ['verify'] }
  const decorated = await verifyDpopProof(await rawProof('ES256', { header: { jwk } }), AT_NOW)
  assert.equal(decorated.jkt, plain.jkt)
})

unit('different keys give different jkts', async () => {
  const a = await verifyDpopProof(await rawProof('ES256'), AT_NOW)
  const pair = await keyPair('ES256', 'thief')
  const other = await signParts(encodeJson({ typ: 'dpop+jwt', alg: 'ES256', jwk: await publicJwk(pair) }), encodeJson(validClaims()), pair, SIGN.ES256)
  const b = await verifyDpopProof(other, AT_NOW)
  assert.notEqual(a.jkt, b.jkt)
})

// --- Refusals: the header ---------------------------------------------------------------------

unit('typ: missing, JWT, upper case or with the application/ prefix is refused', async () => {
  for (const typ of [undefined, 'JWT', 'at+jwt', 'DPOP+JWT', 'application/dpop+jwt', '', 1]) {
    const proof = await oauth4webapiProof(await keyPair('ES256'), { modify: (header) => { if (typ === undefined) delete header.typ; else header.typ = typ } })
    await assertRefused(proof, /typ is not dpop\+jwt/, { ...AT_NOW, nowSeconds: madeAt(proof) })
  }
})

unit('alg none is refused, with or without a signature part', async () => {
  const header = encodeJson({ typ: 'dpop+jwt', alg: 'none', jwk: await publicJwk(await keyPair('ES256')) })
  await assertRefused(`${header}.${encodeJson(validClaims())}.`, /not one JWS/)
  await assertRefused(`${header}.${encodeJson(validClaims())}.AAAA`, /alg is not one of ES256, EdDSA, Ed25519, PS256, RS256/)
  for (const alg of ['None', 'NONE']) await assertRefused(await rawProof('ES256', { header: { alg } }), /alg is not one of/)
})

unit('HS256 is refused: with the public key as the HMAC secret, and with a symmetric jwk', async () => {
  const jwk = await publicJwk(await keyPair('ES256'))
  const secret = await crypto.subtle.importKey('raw', new TextEncoder().encode(JSON.stringify(jwk)), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  const header = encodeJson({ typ: 'dpop+jwt', alg: 'HS256', jwk })
  const payload = encodeJson(validClaims())
  const mac = await crypto.subtle.sign('HMAC', secret, new TextEncoder().encode(`${header}.${payload}`))
  await assertRefused(`${header}.${payload}.${toBase64Url(mac)}`, /alg is not one of/)
  const oct = encodeJson({ typ: 'dpop+jwt', alg: 'HS256', jwk: { kty: 'oct', k: 'c2VjcmV0' } })
  await assertRefused(`${oct}.${payload}.${toBase64Url(mac)}`, /alg is not one of/)
})

unit('algorithms outside the list are refused even when the signature is good (ES384, RS512, ES256K, alg missing or not a string)', async () => {
  const p384 = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify'])) as CryptoKeyPair
  const es384 = await signParts(encodeJson({ typ: 'dpop+jwt', alg: 'ES384', jwk: await publicJwk(p384) }), encodeJson(validClaims()), p384, { name: 'ECDSA', hash: 'SHA-384' })
  await assertRefused(es384, /alg is not one of/)
  for (const alg of ['RS512', 'ES256K', 'EdDSA ', 'es256', undefined, 256, ['ES256'], 'constructor', '__proto__', 'toString']) {
    await assertRefused(await rawProof('RS256', { header: { alg } }), /alg is not one of/)
  }
})

unit('alg and key must match: kty and crv are checked against the alg', async () => {
  // An Ed25519 key under ES256, an EC key under EdDSA and RS256, an RSA key under ES256, all signed with the key's own algorithm.
  await assertRefused(await rawProof('Ed25519', { header: { alg: 'ES256' } }), /jwk kty is not EC, which its alg needs/)
  await assertRefused(await rawProof('ES256', { header: { alg: 'EdDSA' } }), /jwk kty is not OKP/)
  await assertRefused(await rawProof('ES256', { header: { alg: 'RS256' } }), /jwk kty is not RSA/)
  await assertRefused(await rawProof('RS256', { header: { alg: 'ES256' } }), /jwk kty is not EC/)
  // The right kty with another curve.
  const p384 = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify'])) as CryptoKeyPair
  await assertRefused(await signParts(encodeJson({ typ: 'dpop+jwt', alg: 'ES256', jwk: await publicJwk(p384) }), encodeJson(validClaims()), p384, { name: 'ECDSA', hash: 'SHA-384' }), /jwk crv is not P-256/)
  const ed = await publicJwk(await keyPair('Ed25519'))
  await assertRefused(await rawProof('Ed25519', { header: { jwk: { ...ed, crv: 'Ed448' } } }), /jwk crv is not Ed25519/)
  await assertRefused(await rawProof('Ed25519', { header: { jwk: { ...ed, crv: 'X25519' } } }), /jwk crv is not Ed25519/)
  // RSA-PSS and PKCS#1 v1.5 share the key type: a PKCS#1 signature under PS256 fails as a signature.
  await assertRefused(await rawProof('RS256', { header: { alg: 'PS256' } }), /signature does not verify/)
  await assertRefused(await rawProof('PS256', { header: { alg: 'RS256' } }), /signature does not verify/)
})

unit('a private key in jwk is refused, though the proof is validly signed (EC d, OKP d, RSA d p q dp dq qi, oct k)', async () => {
  for (const alg of ['ES256', 'Ed25519', 'RS256'] as const) {
    await assertRefused(await rawProof(alg, { header: { jwk: await privateJwk(await keyPair(alg)) } }), /jwk holds private key material/)
  }
  const rsa = await privateJwk(await keyPair('RS256'))
  const rsaPublic = await publicJwk(await keyPair('RS256'))
  for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']) {
    await assertRefused(await rawProof('RS256', { header: { jwk: { ...rsaPublic, [member]: rsa[member] ?? 'AQAB' } } }), /private key material/)
  }
  await assertRefused(await rawProof('ES256', { header: { jwk: { kty: 'oct', k: 'c2VjcmV0' } } }), /private key material/)
})

unit('jwk missing or not an object is refused', async () => {
  for (const jwk of [undefined, null, 'jwk', 1, [], [await publicJwk(await keyPair('ES256'))]]) {
    await assertRefused(await rawProof('ES256', { header: { jwk } }), /header has no jwk object/)
  }
})

unit('malformed key members are refused before any crypto: EC and OKP coordinates, RSA n and e', async () => {
  const ec = await publicJwk(await keyPair('ES256'))
  const short = toBase64Url(new Uint8Array(31))
  const long = toBase64Url(new Uint8Array(33))
  for (const change of [{ x: short }, { y: long }, { x: undefined }, { y: 1 }, { x: `${ec.x}=` }, { x: ec.x!.replace(/[A-Za-z0-9]$/, '+') }]) {
    await assertRefused(await rawProof('ES256', { header: { jwk: { ...ec, ...change } } }), /jwk x and y are not 32-byte base64url coordinates/)
  }
  const ed = await publicJwk(await keyPair('Ed25519'))
  for (const x of [short, long, undefined, 7]) await assertRefused(await rawProof('Ed25519', { header: { jwk: { ...ed, x } } }), /jwk x is not a 32-byte base64url key/)
  const rsa = await publicJwk(await keyPair('RS256'))
  const modulus = fromBase64Url(rsa.n!)!
  const padded = toBase64Url(new Uint8Array([0, ...modulus]))
  const tooBig = toBase64Url(new Uint8Array(513).fill(0xff))
  for (const n of [padded, tooBig, toBase64Url(modulus.slice(1)), undefined, '', 12]) {
    await assertRefused(await rawProof('RS256', { header: { jwk: { ...rsa, n } } }), /jwk n is not a 2048 to 4096-bit modulus/)
  }
  // e = 3, e = 65536 (even), 2^32 + 1 (five octets), a leading zero, and none.
  for (const e of ['Aw', 'AQAA', 'AQAAAAE', 'AAEAAQ', undefined]) {
    await assertRefused(await rawProof('RS256', { header: { jwk: { ...rsa, e } } }), /jwk e is not an odd exponent above 2\^16 and below 2\^32/)
  }
})

unit('an RSA key of 1024 bits is refused though it signed the proof', async () => {
  const small = await keyPair('RS256', 'small', 1024)
  const proof = await signParts(encodeJson({ typ: 'dpop+jwt', alg: 'RS256', jwk: await publicJwk(small) }), encodeJson(validClaims()), small, SIGN.RS256)
  await assertRefused(proof, /jwk n is not a 2048 to 4096-bit modulus/)
})

unit('an EC point off the curve is refused as a bad signature on every runtime (WebCrypto throws at import or verify)', async () => {
  const zero = toBase64Url(new Uint8Array(32))
  await assertRefused(await rawProof('ES256', { header: { jwk: { kty: 'EC', crv: 'P-256', x: zero, y: zero } } }), /signature does not verify with its jwk/)
  await assertRefused(await rawProof('Ed25519', { header: { jwk: { kty: 'OKP', crv: 'Ed25519', x: zero } } }), /signature does not verify with its jwk/)
})

unit('crit is refused: the relay understands no JWS extension', async () => {
  await assertRefused(await rawProof('ES256', { header: { crit: ['b64'], b64: false } }), /header has crit/)
  await assertRefused(await rawProof('ES256', { header: { crit: [] } }), /header has crit/)
})

// --- Refusals: the signature ------------------------------------------------------------------

for (const alg of PROOF_KEY_ALGS) {
  unit(`${alg}: one flipped bit in the signature, the header or the claims is refused`, async () => {
    const pair = await keyPair(alg)
    const proof = await oauth4webapiProof(pair)
    const at = { ...AT_NOW, nowSeconds: madeAt(proof) }
    await verifyDpopProof(proof, at)
    for (const bit of [0, 7, 100, 511]) await assertRefused(flipBit(proof, 2, bit), /signature does not verify/, at)
    // A bit in the jti, and a claims object re-encoded with another jti under the old signature.
    const claims = decodePart(proof, 1)
    await assertRefused(withPayload(proof, { ...claims, jti: `${String(claims.jti).slice(0, -1)}${String(claims.jti).endsWith('A') ? 'B' : 'A'}` }), /signature does not verify/, at)
    await assertRefused(withPayload(proof, { ...claims, iat: (claims.iat as number) + 1 }), /signature does not verify/, at)
    // The header with its own key swapped for another: the signature is not that key's.
    const other = await publicJwk(await keyPair(alg, 'thief'))
    const [, payload = '', signature = ''] = proof.split('.')
    await assertRefused(`${encodeJson({ ...decodePart(proof, 0), jwk: other })}.${payload}.${signature}`, /signature does not verify/, at)
  })
}

unit('a truncated, extended, empty-looking or DER-encoded ES256 signature is refused', async () => {
  const proof = await rawProof('ES256')
  const [header = '', payload = '', signature = ''] = proof.split('.')
  const bytes = fromBase64Url(signature)!
  await assertRefused(`${header}.${payload}.${toBase64Url(bytes.slice(0, 63))}`, /signature does not verify/)
  await assertRefused(`${header}.${payload}.${toBase64Url(new Uint8Array([...bytes, 0]))}`, /signature does not verify/)
  await assertRefused(`${header}.${payload}.AA`, /signature does not verify/)
  // ASN.1 DER: SEQUENCE { INTEGER r, INTEGER s }, what some JOSE libraries wrongly send.
  const integer = (value: Uint8Array) => ((value[0]! & 0x80) ? [0x02, value.length + 1, 0, ...value] : [0x02, value.length, ...value])
  const body = [...integer(bytes.slice(0, 32)), ...integer(bytes.slice(32))]
  await assertRefused(`${header}.${payload}.${toBase64Url(new Uint8Array([0x30, body.length, ...body]))}`, /signature does not verify/)
  // Ed25519 signatures of the wrong length throw in workerd and return false elsewhere.
  const ed = await rawProof('Ed25519')
  const [edHeader = '', edPayload = '', edSignature = ''] = ed.split('.')
  await assertRefused(`${edHeader}.${edPayload}.${toBase64Url(fromBase64Url(edSignature)!.slice(1))}`, /signature does not verify/)
})

unit('a non-canonical base64url spelling of a valid part is refused (padding, standard alphabet, unused bits set)', async () => {
  const proof = await rawProof('ES256')
  const [header = '', payload = '', signature = ''] = proof.split('.')
  // 64 bytes are 86 characters with 4 unused bits in the last one: 'A' → 'B' decodes to the same bytes laxly.
  assert.equal(signature.length, 86)
  const last = signature.at(-1)!
  const lax = String.fromCharCode(last.charCodeAt(0) + 1)
  await assertRefused(`${header}.${payload}.${signature.slice(0, -1)}${lax}`, /not canonical base64url/)
  await assertRefused(`${header}.${payload}.${signature}==`, /not one JWS/)
  await assertRefused(`${header.slice(0, -1)}+.${payload}.${signature}`, /not one JWS/)
  await assertRefused(`${header}.${payload}.${signature.slice(0, -1)}`, /not canonical base64url/)
})

// --- Refusals: the claims ---------------------------------------------------------------------

unit('htm: a proof for another method, or a differently cased POST, is refused', async () => {
  for (const htm of ['GET', 'post', 'PUT', '', undefined, ['POST']]) {
    await assertRefused(await rawProof('ES256', { claims: { htm } }), /htm is not POST/)
  }
})

unit('htu: another path, host, scheme or port is refused', async () => {
  const others = [
    'https://relay.example.com/token/', 'https://relay.example.com/tokens', 'https://relay.example.com/', 'https://relay.example.com/authorize',
    'https://relay.example.com/TOKEN', 'https://relay.example.org/token', 'https://evil.example/token', 'https://relay.example.com.evil.example/token',
    'https://evil.example/relay.example.com/token', 'http://relay.example.com/token', 'wss://relay.example.com/token', 'https://relay.example.com:8443/token',
    'https://relay.example.com:80/token', 'https://relay.example.com/x/token',
  ]
  for (const htu of others) await assertRefused(await rawProof('ES256', { claims: { htu } }), /htu is not the URL this request was sent to/)
})

unit('htu: userinfo, a relative or scheme-relative URL, no //, whitespace, backslashes and non-strings are refused', async () => {
  const bad = [
    'https://user@relay.example.com/token', 'https://user:pw@relay.example.com/token', '/token', '//relay.example.com/token', 'https:relay.example.com/token',
    'https:/relay.example.com/token', ' https://relay.example.com/token', 'https://relay.example.com/token ', 'https://relay.exa\nmple.com/token',
    'https://relay.example.com/to\tken', 'https://relay.example.com\\token', 'https://relay.example.com/tök', 'relay.example.com/token', '', undefined, 1, [TOKEN_ENDPOINT],
  ]
  for (const htu of bad) await assertRefused(await rawProof('ES256', { claims: { htu } }), /htu is not the URL this request was sent to/)
})

unit('htu: query and fragment are ignored, and RFC 3986 §6.2.2/§6.2.3 normalisation applies (case, default port, escapes, dot segments)', async () => {
  const same = [
    'https://relay.example.com/token?x=1', 'https://relay.example.com/token?', 'https://relay.example.com/token#frag', 'https://relay.example.com/token?a=b#c',
    'HTTPS://RELAY.EXAMPLE.COM/token', 'https://Relay.Example.Com/token', 'https://relay.example.com:443/token', 'https://relay.example.com/%74oken',
    'https://relay.example.com/%74%6F%6b%65%6E', 'https://relay.example.com/x/../token', 'https://relay.example.com/./token',
  ]
  for (const htu of same) await verifyDpopProof(await rawProof('ES256', { claims: { htu } }), AT_NOW)
  // The expected side is normalised the same way, and its own query is ignored too.
  await verifyDpopProof(await rawProof('ES256'), { ...AT_NOW, htu: 'https://RELAY.example.com:443/token?from=metadata' })
  // Escapes of reserved characters are kept, only their case is normalised.
  const slash = { ...AT_NOW, htu: 'https://relay.example.com/a%2fb' }
  await verifyDpopProof(await rawProof('ES256', { claims: { htu: 'https://relay.example.com/a%2Fb' } }), slash)
  await assertRefused(await rawProof('ES256', { claims: { htu: 'https://relay.example.com/a/b' } }), /htu/, slash)
})

unit('iat: exactly 60 s old and exactly 5 s ahead are accepted; 61 s old, 6 s ahead or just past either edge are refused', async () => {
  for (const iat of [NOW, NOW - 60, NOW + 5, NOW - 59.999, NOW + 4.5]) await verifyDpopProof(await rawProof('ES256', { claims: { iat } }), AT_NOW)
  for (const iat of [NOW - 61, NOW - 60.001, NOW - 3600, 0, -1]) await assertRefused(await rawProof('ES256', { claims: { iat } }), /iat is more than 60 seconds old/)
  for (const iat of [NOW + 6, NOW + 5.001, NOW + 3600]) await assertRefused(await rawProof('ES256', { claims: { iat } }), /iat is more than 5 seconds in the future/)
})

unit('iat: an oauth4webapi proof is accepted until 60 s after it was made, and refused one second later', async () => {
  const proof = await oauth4webapiProof(await keyPair('Ed25519'))
  const made = madeAt(proof)
  const verified = await verifyDpopProof(proof, { ...AT_NOW, nowSeconds: made + 60 })
  assert.equal(verified.replayableUntil, made + 60)
  await assertRefused(proof, /iat is more than 60 seconds old/, { ...AT_NOW, nowSeconds: made + 61 })
  await verifyDpopProof(proof, { ...AT_NOW, nowSeconds: made - 5 })
  await assertRefused(proof, /iat is more than 5 seconds in the future/, { ...AT_NOW, nowSeconds: made - 6 })
})

unit('iat: missing, a string, null or 1e400 (Infinity once parsed) is refused', async () => {
  for (const iat of [undefined, String(NOW), null, true, [NOW]]) await assertRefused(await rawProof('ES256', { claims: { iat } }), /iat is not a number/)
  const pair = await keyPair('ES256')
  const header = encodeJson({ typ: 'dpop+jwt', alg: 'ES256', jwk: await publicJwk(pair) })
  const payload = toBase64Url(new TextEncoder().encode(`{"htm":"POST","htu":"${TOKEN_ENDPOINT}","iat":1e400,"jti":"0123456789abcdef"}`))
  await assertRefused(await signParts(header, payload, pair, SIGN.ES256), /iat is not a number/)
})

unit('replayableUntil is iat + 60, rounded up for a fractional iat', async () => {
  assert.equal((await verifyDpopProof(await rawProof('ES256', { claims: { iat: NOW - 10 } }), AT_NOW)).replayableUntil, NOW + 50)
  assert.equal((await verifyDpopProof(await rawProof('ES256', { claims: { iat: NOW - 10.5 } }), AT_NOW)).replayableUntil, NOW + 50)
})

unit('jti: missing, not a string, 15 or 129 characters is refused; 16 and 128 are accepted', async () => {
  for (const jti of [undefined, 1234567890123456789, null, ['a'.repeat(20)], '', 'a'.repeat(15), 'a'.repeat(129), 'a'.repeat(1000)]) {
    await assertRefused(await rawProof('ES256', { claims: { jti } }), /jti is not a string of 16 to 128 characters/)
  }
  for (const jti of ['a'.repeat(16), 'b'.repeat(128), 'c1e6b2c2-6a36-4a1f-9e7e-1c1f0d6f4d1e']) {
    assert.equal((await verifyDpopProof(await rawProof('ES256', { claims: { jti } }), AT_NOW)).jti, jti)
  }
})

unit('nonce: when one is expected, a missing, wrong or non-string nonce is refused; when none is, a nonce is returned unchecked', async () => {
  const expecting = { ...AT_NOW, nonce: 'n-0123456789' }
  for (const nonce of [undefined, 'n-9876543210', 'N-0123456789', '', 1]) {
    await assertRefused(await rawProof('ES256', { claims: { nonce } }), /nonce is not the one the relay provided/, expecting)
  }
  assert.equal((await verifyDpopProof(await rawProof('ES256', { claims: { nonce: 'n-0123456789' } }), expecting)).nonce, 'n-0123456789')
  assert.equal((await verifyDpopProof(await rawProof('ES256', { claims: { nonce: 'anything' } }), AT_NOW)).nonce, 'anything')
  assert.equal((await verifyDpopProof(await rawProof('ES256', { claims: { nonce: 5 } }), AT_NOW)).nonce, undefined)
})

unit('ath is refused: the token endpoint never receives an access token, so a proof with one was made for a resource', async () => {
  for (const ath of ['fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo', '', null]) {
    await assertRefused(await rawProof('ES256', { claims: { ath } }), /has ath/)
  }
  const proof = await oauth4webapiProof(await keyPair('ES256'), { modify: (_header, payload) => { payload.ath = 'fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo' } })
  await assertRefused(proof, /has ath/, { ...AT_NOW, nowSeconds: madeAt(proof) })
})

unit('other claims (exp, nbf, an unknown one) do not matter', async () => {
  await verifyDpopProof(await rawProof('ES256', { claims: { exp: NOW - 1000, nbf: NOW + 1000, client_id: 'x', nested: { a: [1, 2] } } }), AT_NOW)
})

// --- Refusals: the shape ----------------------------------------------------------------------

unit('two JWS are refused: two DPoP headers joined by Headers, concatenated, or in the JSON serialisation', async () => {
  const a = await rawProof('ES256')
  const b = await rawProof('Ed25519')
  const joined = new Headers([['DPoP', a], ['DPoP', b]]).get('DPoP') ?? ''
  assert.equal(joined, `${a}, ${b}`)
  for (const proof of [joined, `${a},${b}`, `${a}.${b}`, `${a}${b}`, `${a} ${b}`, `${a}\n${b}`]) await assertRefused(proof, /not one JWS in compact serialisation/)
  const [header = '', payload = '', signature = ''] = a.split('.')
  await assertRefused(JSON.stringify({ protected: header, payload, signature }), /not one JWS/)
  await assertRefused(JSON.stringify({ payload, signatures: [{ protected: header, signature }] }), /not one JWS/)
  await assertRefused(`${header}.${payload}.${signature}.`, /not one JWS/)
  await assertRefused(`${header}..${signature}`, /not one JWS/)
  await assertRefused(`DPoP ${a}`, /not one JWS/)
  await assertRefused(` ${a}`, /not one JWS/)
})

unit('oversized input is refused before parsing: a validly signed proof of 8193 characters, while one of exactly 8192 verifies', async () => {
  const pair = await keyPair('ES256')
  const jwk = await publicJwk(pair)
  // Two headers of different lengths, since base64url has no length 4k + 1.
  const headers = [encodeJson({ typ: 'dpop+jwt', alg: 'ES256', jwk }), encodeJson({ typ: 'dpop+jwt', alg: 'ES256', kid: 'k', jwk })]
  const claims = validClaims()
  const sized = (length: number): Promise<string> => {
    // Grow a padding claim until the proof has exactly `length` characters (86 of signature, 2 dots).
    const bare = encodeJson({ ...claims, pad: '' }).length
    for (let pad = Math.max(0, Math.floor(((length - 88 - bare - headers[1]!.length) * 3) / 4) - 8); pad < length; pad++) {
      const payload = encodeJson({ ...claims, pad: 'p'.repeat(pad) })
      const header = headers.find((candidate) => candidate.length + payload.length + 88 === length)
      if (header) return signParts(header, payload, pair, SIGN.ES256)
    }
    throw new Error(`no proof of ${length} characters`)
  }
  const limit = await sized(DPOP_MAX_PROOF_LENGTH)
  assert.equal(limit.length, 8192)
  await verifyDpopProof(limit, AT_NOW)
  const over = await sized(DPOP_MAX_PROOF_LENGTH + 1)
  assert.equal(over.length, 8193)
  await assertRefused(over, /is longer than 8192 characters/)
  await assertRefused('A'.repeat(1024 * 1024), /is longer than 8192 characters/)
  await assertRefused(`${'A'.repeat(5000)}.${'A'.repeat(5000)}.AA`, /is longer than 8192 characters/)
})

unit('garbage is refused as invalid_dpop_proof, never another error', async () => {
  const nonObject = [encodeJson([]), encodeJson('dpop+jwt'), encodeJson(null), encodeJson(1), toBase64Url(new TextEncoder().encode('{"typ":'))]
  const invalidUtf8 = toBase64Url(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]))
  const bom = toBase64Url(new TextEncoder().encode(`\uFEFF${JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256' })}`))
  const garbage = [
    '', ' ', '.', '..', '...', 'a', 'a.b', 'a.b.c', 'e30.e30.e30', 'Bearer abc', 'null', '{}', '\u0000', 'é.é.é', '😀', 'eyJ.eyJ.eyJ',
    ...nonObject.map((part) => `${part}.e30.AAAA`), `${invalidUtf8}.e30.AAAA`, `${bom}.e30.AAAA`,
  ]
  for (const proof of garbage) await assertRefused(proof, /./)
  // A good header with a payload that is not an object, validly signed.
  const pair = await keyPair('ES256')
  const header = encodeJson({ typ: 'dpop+jwt', alg: 'ES256', jwk: await publicJwk(pair) })
  for (const payload of nonObject) await assertRefused(await signParts(header, payload, pair, SIGN.ES256), /payload is not a JSON object/)
  // A byte-order mark before a valid header, validly signed: JSON text has one spelling (RFC 8259 §8.1).
  const withBom = toBase64Url(new TextEncoder().encode(`\uFEFF${JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: await publicJwk(pair) })}`))
  await assertRefused(await signParts(withBom, encodeJson(validClaims()), pair, SIGN.ES256), /header is not a JSON object/)
})

unit('the error renders as RFC 6749 §5.2 JSON: 400, error invalid_dpop_proof, the description', async () => {
  try {
    await verifyDpopProof('garbage', AT_NOW)
    assert.fail('accepted')
  } catch (error) {
    assert.ok(error instanceof RelayError)
    const response = error.toResponse('json')
    assert.equal(response.status, 400)
    assert.deepEqual(await response.json(), { error: 'invalid_dpop_proof', error_description: 'The DPoP proof is not one JWS in compact serialisation.' })
  }
})

unit('caller mistakes are TypeErrors (a 500), not proof refusals: a relative expected htu, a window option out of range', async () => {
  const proof = await rawProof('ES256')
  await assert.rejects(verifyDpopProof(proof, { ...AT_NOW, htu: '/token' }), TypeError)
  await assert.rejects(verifyDpopProof(proof, AT_NOW, { maxAgeSeconds: 301 }), TypeError)
  await assert.rejects(verifyDpopProof(proof, AT_NOW, { maxFutureSeconds: -1 }), TypeError)
  await assert.rejects(verifyDpopProof(proof, AT_NOW, { maxAgeSeconds: 1.5 }), TypeError)
  // In range, the options move the edges.
  await verifyDpopProof(await rawProof('ES256', { claims: { iat: NOW - 300 } }), AT_NOW, { maxAgeSeconds: 300 })
  await assertRefused(await rawProof('ES256', { claims: { iat: NOW + 1 } }), /iat is more than 0 seconds in the future/, AT_NOW, { maxFutureSeconds: 0 })
})

/** Every DPoP verifier case. */
export const dpopCases: readonly UnitCase[] = cases
