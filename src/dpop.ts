/**
 * @module
 * DPoP proof verification (RFC 9449 §4.3) and JWK thumbprints (RFC 7638), with WebCrypto only, so
 * it runs unchanged on workerd, Deno and Node.
 *
 * Replay is the caller's part (RFC 9449 §11.1): {@link verifyDpopProof} accepts the same proof
 * again until its `replayableUntil`, so the caller must remember every accepted (`jkt`, `jti`)
 * until then and refuse a pair it has seen.
 */
import { fromBase64Url, sha256Base64Url } from './base64url.ts'
import { RelayError } from './errors.ts'

/**
 * The JWS `alg` values a proof may use, for the metadata's `dpop_signing_alg_values_supported`
 * (RFC 9449 §5.1). Ed25519 is listed under both names: `EdDSA` (RFC 8037) and the fully specified
 * `Ed25519` (RFC 9864), which oauth4webapi and openid-client send.
 */
export const DPOP_SIGNING_ALGS = ['ES256', 'EdDSA', 'Ed25519', 'PS256', 'RS256'] as const

/** One of {@link DPOP_SIGNING_ALGS}. */
export type DpopSigningAlg = (typeof DPOP_SIGNING_ALGS)[number]

/**
 * Longest proof read, checked before any parsing, so a forged header costs one bounded pass.
 * oauth4webapi's proofs are 412 (Ed25519) to 1,853 characters (RSA-4096), 2,209 with a
 * 256-character nonce: the limit leaves room for other clients' extra members.
 */
export const DPOP_MAX_PROOF_LENGTH = 8192

/**
 * How old a proof's `iat` may be (RFC 9449 §11.1). A client makes its proof just before it sends
 * the request, so 60 s covers a slow network and a client clock somewhat behind; it is also how
 * long a replay cache must hold each `jti`, so it is kept short.
 */
export const DPOP_MAX_AGE_SECONDS = 60

/**
 * How far a proof's `iat` may be ahead of the relay's clock (RFC 9449 §11.1). Proofs are made for
 * the moment they are sent, so only clock skew puts `iat` ahead; 5 s covers NTP-synchronised
 * clocks and whole-second rounding, while a proof dated further ahead would stay usable longer
 * than {@link DPOP_MAX_AGE_SECONDS} after it was made. A client whose clock runs further ahead needs
 * server-provided nonces (RFC 9449 §8).
 */
export const DPOP_MAX_FUTURE_SECONDS = 5

/** Shortest `jti`: RFC 9449 §4.2 asks for at least 96 random bits, 16 base64url characters. */
export const DPOP_MIN_JTI_LENGTH = 16

/** Longest `jti`: it keys the replay cache, so it is bounded (a UUID is 36, oauth4webapi's 43). */
export const DPOP_MAX_JTI_LENGTH = 128

/** Smallest RSA modulus accepted: RFC 7518 §3.3 and §3.5 require 2048 bits for RS256 and PS256. */
const RSA_MIN_MODULUS_BITS = 2048
/**
 * Largest RSA modulus accepted: verification cost grows with it (an RSA-4096 signature takes
 * 1.8 ms to verify on Deno, 0.2 ms on Node), and larger DPoP keys are not in use.
 */
const RSA_MAX_MODULUS_BITS = 4096

/** A public key a proof may carry in its `jwk` header, with only the members RFC 7638 hashes. */
export type DpopPublicJwk =
  | { readonly kty: 'EC'; readonly crv: 'P-256'; readonly x: string; readonly y: string }
  | { readonly kty: 'OKP'; readonly crv: 'Ed25519'; readonly x: string }
  | { readonly kty: 'RSA'; readonly n: string; readonly e: string }

/** What the request must match. */
export interface DpopExpectations {
  /** The request's method, compared exactly (methods are case-sensitive, RFC 9110 §9.1). */
  readonly htm: string
  /** The URL the client sent the request to, as it sees it; its query and fragment are ignored. */
  readonly htu: string
  /** The relay's clock, Unix seconds. */
  readonly nowSeconds: number
  /** The nonce the relay gave the client (RFC 9449 §8), when it requires one. */
  readonly nonce?: string
}

/** Overrides of the `iat` window, for a caller that bounds freshness some other way (nonces). */
export interface DpopOptions {
  /** Default {@link DPOP_MAX_AGE_SECONDS}; at most 300. */
  readonly maxAgeSeconds?: number
  /** Default {@link DPOP_MAX_FUTURE_SECONDS}; at most 60. */
  readonly maxFutureSeconds?: number
}

/** A proof that passed every check. */
export interface VerifiedDpopProof {
  /** The RFC 7638 SHA-256 thumbprint of the proof's key: what a token is bound to. */
  readonly jkt: string
  /** The proof's unique id. */
  readonly jti: string
  /** When the client made the proof, Unix seconds. */
  readonly iat: number
  /**
   * Unix seconds until which this same proof would verify again: the caller must remember
   * (`jkt`, `jti`) until then and refuse a second use (RFC 9449 §11.1).
   */
  readonly replayableUntil: number
  /** The proof's `nonce` claim, when it has one (checked only if `expected.nonce` was given). */
  readonly nonce?: string
}

/** How one `alg` is checked: the key type it needs and the WebCrypto parameters. */
interface AlgorithmSpec {
  readonly kty: DpopPublicJwk['kty']
  readonly importParams: { readonly name: string; readonly namedCurve?: string; readonly hash?: string }
  readonly verifyParams: { readonly name: string; readonly hash?: string; readonly saltLength?: number }
}

const ED25519: AlgorithmSpec = { kty: 'OKP', importParams: { name: 'Ed25519' }, verifyParams: { name: 'Ed25519' } }
const ALGORITHMS: Readonly<Record<DpopSigningAlg, AlgorithmSpec>> = {
  ES256: { kty: 'EC', importParams: { name: 'ECDSA', namedCurve: 'P-256' }, verifyParams: { name: 'ECDSA', hash: 'SHA-256' } },
  EdDSA: ED25519,
  Ed25519: ED25519,
  // RFC 7518 §3.5: the PSS salt is as long as the hash.
  PS256: { kty: 'RSA', importParams: { name: 'RSA-PSS', hash: 'SHA-256' }, verifyParams: { name: 'RSA-PSS', saltLength: 32 } },
  RS256: { kty: 'RSA', importParams: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, verifyParams: { name: 'RSASSA-PKCS1-v1_5' } },
}

/** Three non-empty base64url parts: one compact JWS (RFC 7515 §7.1), nothing around it. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
/** The JWK members that hold private or symmetric key material (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const
/** RFC 3986 §2.3 unreserved characters: a percent-escape of one of these means the character itself. */
const UNRESERVED = /^[A-Za-z0-9\-._~]$/
const encoder = new TextEncoder()
/** Refuses invalid UTF-8 and keeps a BOM, so a header has one spelling as JSON (RFC 8259 §8.1). */
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Verifies a `DPoP` request header's proof by RFC 9449 §4.3 and returns what binding and replay
 * detection need. `proof` is the header value as `Headers.get` returns it: two `DPoP` headers
 * arrive joined by ", " and are refused as not one JWS (§4.3 step 1).
 *
 * @throws RelayError `invalid_dpop_proof` naming the check that failed, never the proof's content.
 * @throws TypeError when `expected.htu` is not an absolute http(s) URL or an option is out of range.
 *
 * @example
 * const { jkt, jti, replayableUntil } = await verifyDpopProof(request.headers.get('DPoP') ?? '', {
 *   htm: 'POST', htu: 'https://relay.example.com/token', nowSeconds: Math.floor(Date.now() / 1000),
 * })
 */
export async function verifyDpopProof(proof: string, expected: DpopExpectations, options: DpopOptions = {}): Promise<VerifiedDpopProof> {
  const maxAge = windowOption(options.maxAgeSeconds, DPOP_MAX_AGE_SECONDS, 300, 'maxAgeSeconds')
  const maxFuture = windowOption(options.maxFutureSeconds, DPOP_MAX_FUTURE_SECONDS, 60, 'maxFutureSeconds')
  const expectedHtu = normalisedHtu(expected.htu)
  if (expectedHtu === null) throw new TypeError('expected.htu must be an absolute http or https URL.')

  // §4.3 step 2: bounded before any parsing, so an oversized header costs one length check.
  if (proof.length > DPOP_MAX_PROOF_LENGTH) refuse(`is longer than ${DPOP_MAX_PROOF_LENGTH} characters`)
  // §4.3 steps 1 and 2: exactly one JWS in compact serialisation (the JSON serialisation, two
  // joined header values and anything around the token fail here).
  if (!COMPACT_JWS.test(proof)) refuse('is not one JWS in compact serialisation')
  const [encodedHeader = '', encodedPayload = '', encodedSignature = ''] = proof.split('.')
  const headerBytes = fromBase64Url(encodedHeader)
  const payloadBytes = fromBase64Url(encodedPayload)
  const signature = fromBase64Url(encodedSignature)
  // One spelling per proof: a lax decoder would let a part be altered without changing its bytes.
  if (headerBytes === null || payloadBytes === null || signature === null) refuse('is not canonical base64url')
  const header = jsonObject(headerBytes) ?? refuse('header is not a JSON object')

  // §4.3 step 4: explicit typing keeps any other JWT from passing as a proof (RFC 8725 §3.11).
  if (header.typ !== 'dpop+jwt') refuse('header typ is not dpop+jwt')
  // RFC 7515 §4.1.11: the relay understands no JWS extension, so a critical one means refusal.
  if (Object.hasOwn(header, 'crit')) refuse('header has crit, and the relay understands no JWS extension')
  // §4.3 step 5: an asymmetric algorithm the relay supports; never none or an HMAC, which would
  // prove nothing (anyone can "sign" with none, or with the public key as the HMAC secret).
  const alg = header.alg
  if (typeof alg !== 'string' || !Object.hasOwn(ALGORITHMS, alg)) refuse(`header alg is not one of ${DPOP_SIGNING_ALGS.join(', ')}`)
  const spec = ALGORITHMS[alg as DpopSigningAlg]
  const jwk = publicKeyOf(header.jwk, spec)

  // §4.3 step 6. Any WebCrypto failure (a point off the curve, a signature of the wrong length,
  // which some runtimes throw for and others not) is the same refusal, never a 500.
  if (!(await signatureVerifies(spec, jwk, signature, encoder.encode(`${encodedHeader}.${encodedPayload}`)))) {
    refuse('signature does not verify with its jwk')
  }

  const claims = jsonObject(payloadBytes) ?? refuse('payload is not a JSON object')
  // §4.3 step 8: the proof was made for this method.
  if (claims.htm !== expected.htm) refuse(`htm is not ${expected.htm}`)
  // §4.3 step 9: the proof was made for this URL, ignoring query and fragment, after RFC 3986
  // §6.2.2 and §6.2.3 normalisation (case of scheme and host, default port, escapes, dot segments).
  if (typeof claims.htu !== 'string' || normalisedHtu(claims.htu) !== expectedHtu) refuse('htu is not the URL this request was sent to')
  // §4.3 step 11: freshness bounds how long a captured proof is any use (§11.1).
  const iat = claims.iat
  if (typeof iat !== 'number' || !Number.isFinite(iat)) refuse('iat is not a number')
  if (iat < expected.nowSeconds - maxAge) refuse(`iat is more than ${maxAge} seconds old`)
  if (iat > expected.nowSeconds + maxFuture) refuse(`iat is more than ${maxFuture} seconds in the future`)
  // §4.2: jti keys replay detection, so it must be there, unguessable and bounded.
  const jti = claims.jti
  if (typeof jti !== 'string' || jti.length < DPOP_MIN_JTI_LENGTH || jti.length > DPOP_MAX_JTI_LENGTH) {
    refuse(`jti is not a string of ${DPOP_MIN_JTI_LENGTH} to ${DPOP_MAX_JTI_LENGTH} characters`)
  }
  // §4.3 step 10: a server-provided nonce proves the proof was made after the relay issued it.
  if (expected.nonce !== undefined && claims.nonce !== expected.nonce) refuse('nonce is not the one the relay provided')
  // §4.2 and §4.3 step 12: ath binds a proof to an access token at a resource server. The
  // relay's token endpoint never receives access tokens and checks no ath, so a proof with one
  // was made for some other use.
  if (Object.hasOwn(claims, 'ath')) refuse('has ath, which only a request with an access token carries')

  const nonce = typeof claims.nonce === 'string' ? claims.nonce : undefined
  return {
    jkt: await jwkThumbprint(jwk),
    jti,
    iat,
    replayableUntil: Math.ceil(iat) + maxAge,
    ...(nonce === undefined ? {} : { nonce }),
  }
}

/**
 * The RFC 7638 JWK thumbprint with SHA-256: the required members only, in lexicographic order,
 * without whitespace, hashed and base64url-encoded (RFC 7638 §3, §3.2).
 *
 * @example
 * await jwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' })
 * // 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k'
 */
export async function jwkThumbprint(jwk: DpopPublicJwk): Promise<string> {
  switch (jwk.kty) {
    case 'EC':
      return sha256Base64Url(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }))
    case 'OKP':
      return sha256Base64Url(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x }))
    case 'RSA':
      return sha256Base64Url(JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n }))
    default:
      throw new TypeError('jwkThumbprint supports EC P-256, OKP Ed25519 and RSA keys.')
  }
}

function refuse(reason: string): never {
  throw new RelayError('invalid_dpop_proof', `The DPoP proof ${reason}.`)
}

function windowOption(value: number | undefined, fallback: number, limit: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < 0 || value > limit) throw new TypeError(`${name} must be an integer from 0 to ${limit}.`)
  return value
}

/** Parses UTF-8 JSON that must be an object, or returns null. */
function jsonObject(bytes: Uint8Array): Record<string, unknown> | null {
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(bytes))
  } catch {
    return null
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null
}

/** Checks the `jwk` header against the algorithm and returns only its public members. */
function publicKeyOf(value: unknown, spec: AlgorithmSpec): DpopPublicJwk {
  // §4.2: the proof carries the key it is verified with.
  if (typeof value !== 'object' || value === null || Array.isArray(value)) refuse('header has no jwk object')
  const jwk = value as Record<string, unknown>
  // §4.3 step 7: a private key in a header is a leaked key, and binding to it would bind nothing.
  if (PRIVATE_MEMBERS.some((member) => Object.hasOwn(jwk, member))) refuse('jwk holds private key material')
  // §4.3 step 5: the key must be of the type the alg signs with (RFC 7518 §3.1), else the alg is
  // not what the key can have made.
  if (jwk.kty !== spec.kty) refuse(`jwk kty is not ${spec.kty}, which its alg needs`)
  switch (spec.kty) {
    case 'EC': {
      if (jwk.crv !== 'P-256') refuse('jwk crv is not P-256, which ES256 needs')
      // RFC 7518 §6.2.1.2 and §6.2.1.3: each coordinate is the curve's full 32 bytes.
      if (decodedLength(jwk.x) !== 32 || decodedLength(jwk.y) !== 32) refuse('jwk x and y are not 32-byte base64url coordinates')
      return { kty: 'EC', crv: 'P-256', x: jwk.x as string, y: jwk.y as string }
    }
    case 'OKP': {
      if (jwk.crv !== 'Ed25519') refuse('jwk crv is not Ed25519, which its alg needs')
      // RFC 8037 §2: an Ed25519 public key is 32 bytes.
      if (decodedLength(jwk.x) !== 32) refuse('jwk x is not a 32-byte base64url key')
      return { kty: 'OKP', crv: 'Ed25519', x: jwk.x as string }
    }
    case 'RSA': {
      const n = typeof jwk.n === 'string' ? fromBase64Url(jwk.n) : null
      const e = typeof jwk.e === 'string' ? fromBase64Url(jwk.e) : null
      // RFC 7518 §6.3.1.1: n has no leading zero octet, so its length gives its size.
      const bits = n === null || n.length === 0 || n[0] === 0 ? 0 : (n.length - 1) * 8 + 32 - Math.clz32(n[0]!)
      if (bits < RSA_MIN_MODULUS_BITS || bits > RSA_MAX_MODULUS_BITS) refuse(`jwk n is not a ${RSA_MIN_MODULUS_BITS} to ${RSA_MAX_MODULUS_BITS}-bit modulus`)
      // FIPS 186-5 asks for an odd e with 2^16 < e < 2^256; at most 32 bits here, since verifying
      // costs one exponentiation by e and a huge e would make each proof slow to check.
      if (e === null || e.length < 3 || e.length > 4 || e[0] === 0 || (e[e.length - 1]! & 1) === 0) refuse('jwk e is not an odd exponent above 2^16 and below 2^32')
      return { kty: 'RSA', n: jwk.n as string, e: jwk.e as string }
    }
  }
}

/** The length a canonical base64url string decodes to, or -1 for anything else. */
function decodedLength(value: unknown): number {
  if (typeof value !== 'string') return -1
  return fromBase64Url(value)?.length ?? -1
}

async function signatureVerifies(spec: AlgorithmSpec, jwk: DpopPublicJwk, signature: BufferSource, signed: BufferSource): Promise<boolean> {
  try {
    const key = await crypto.subtle.importKey('jwk', jwk, spec.importParams, false, ['verify'])
    return await crypto.subtle.verify(spec.verifyParams, key, signature, signed)
  } catch {
    return false
  }
}

/**
 * `htu` as compared (RFC 9449 §4.3 step 9): scheme, host and non-default port, and the path with
 * escapes of unreserved characters decoded and the rest upper-cased; no query, no fragment. Null
 * for anything that is not an absolute http(s) URI: characters outside RFC 3986 (which the URL
 * parser would quietly drop or reinterpret), no `//`, or userinfo (RFC 9110 §4.2.4).
 */
function normalisedHtu(value: string): string | null {
  if (!/^https?:\/\/[\x21-\x5b\x5d-\x7e]+$/i.test(value)) return null
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return null
  }
  if (url.username !== '' || url.password !== '') return null
  const path = url.pathname.replace(/%[0-9A-Fa-f]{2}/g, (escape) => {
    const character = String.fromCharCode(Number.parseInt(escape.slice(1), 16))
    return UNRESERVED.test(character) ? character : escape.toUpperCase()
  })
  return `${url.protocol}//${url.host}${path}`
}
