/**
 * @module
 * DPoP proofs for the tests, runtime-neutral. Honest proofs come from oauth4webapi, an independent
 * implementation, through its public DPoP handle on a real refresh-token request; what no honest
 * client sends (alg none, an HMAC, a private key in the header…) comes from {@link rawProof}.
 */
import * as oauth from 'oauth4webapi'
import { fromBase64Url, toBase64Url } from '../../src/base64url.ts'
import { RSA_4096_TEST_KEY } from './rsa-4096-key.ts'

/** The token endpoint the proofs are made for. */
export const TOKEN_ENDPOINT = 'https://relay.example.com/token'

/** The relay's clock for raw proofs, Unix seconds. */
export const NOW = 1_800_000_000

/** The algorithms tests make keys for. */
export type ProofKeyAlg = 'ES256' | 'Ed25519' | 'RS256' | 'PS256'

/** Every {@link ProofKeyAlg}. */
export const PROOF_KEY_ALGS: readonly ProofKeyAlg[] = ['ES256', 'Ed25519', 'RS256', 'PS256']

type Params = { readonly name: string; readonly namedCurve?: string; readonly hash?: string; readonly saltLength?: number }

/** WebCrypto signing parameters per algorithm (RFC 7518 §3.3–§3.5, RFC 8037 §3.1). */
export const SIGN: Readonly<Record<ProofKeyAlg, Params>> = {
  ES256: { name: 'ECDSA', hash: 'SHA-256' },
  Ed25519: { name: 'Ed25519' },
  RS256: { name: 'RSASSA-PKCS1-v1_5' },
  PS256: { name: 'RSA-PSS', saltLength: 32 },
}

function generateParams(alg: ProofKeyAlg, modulusLength: number) {
  const publicExponent = new Uint8Array([1, 0, 1])
  switch (alg) {
    case 'ES256':
      return { name: 'ECDSA', namedCurve: 'P-256' }
    case 'Ed25519':
      return { name: 'Ed25519' }
    case 'RS256':
      return { name: 'RSASSA-PKCS1-v1_5', modulusLength, publicExponent, hash: 'SHA-256' }
    case 'PS256':
      return { name: 'RSA-PSS', modulusLength, publicExponent, hash: 'SHA-256' }
  }
}

const pairs = new Map<string, Promise<CryptoKeyPair>>()

/**
 * A key pair for `alg`, made once per isolate and `name` (an RSA key takes up to 300 ms on Deno).
 * Another `name` gives another key. A 4096-bit RSA pair is always {@link RSA_4096_TEST_KEY}.
 */
export function keyPair(alg: ProofKeyAlg, name = 'app', modulusLength = 2048): Promise<CryptoKeyPair> {
  const id = `${alg}/${name}/${modulusLength}`
  let pair = pairs.get(id)
  if (!pair) {
    pair = modulusLength === 4096 ? importRsa4096(alg) : (crypto.subtle.generateKey(generateParams(alg, modulusLength), true, ['sign', 'verify']) as Promise<CryptoKeyPair>)
    pairs.set(id, pair)
  }
  return pair
}

async function importRsa4096(alg: ProofKeyAlg): Promise<CryptoKeyPair> {
  const params = { name: generateParams(alg, 4096).name, hash: 'SHA-256' }
  const { kty, n, e } = RSA_4096_TEST_KEY
  return {
    privateKey: await crypto.subtle.importKey('jwk', { ...RSA_4096_TEST_KEY }, params, true, ['sign']),
    publicKey: await crypto.subtle.importKey('jwk', { kty, n, e }, params, true, ['verify']),
  }
}

/** The public key as a JWK, with only its key members (no `key_ops`, `ext` or `alg`). */
export async function publicJwk(pair: CryptoKeyPair): Promise<Record<string, string>> {
  const { kty, crv, x, y, n, e } = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as JsonWebKey
  const members: Record<string, string | undefined> = { kty, crv, x, y, n, e }
  return Object.fromEntries(Object.entries(members).filter((entry): entry is [string, string] => entry[1] !== undefined))
}

/** The private key as a JWK, private members included. */
export async function privateJwk(pair: CryptoKeyPair): Promise<Record<string, unknown>> {
  const { key_ops: _ops, ext: _ext, ...jwk } = (await crypto.subtle.exportKey('jwk', pair.privateKey)) as JsonWebKey
  return jwk
}

/** How oauth4webapi should make its proof. */
export interface Oauth4webapiProofOptions {
  /** The token endpoint; default {@link TOKEN_ENDPOINT}. */
  readonly url?: string
  /** oauth4webapi's `modifyAssertion` hook: changes the header and claims just before signing. */
  readonly modify?: (header: Record<string, unknown>, payload: Record<string, unknown>) => void
  /** The server answers the first request with this `DPoP-Nonce`; the proof returned is the second. */
  readonly nonce?: string
}

/**
 * The `DPoP` header oauth4webapi's DPoP handle sends on a refresh-token request to the token
 * endpoint, caught by its `customFetch` hook (nothing leaves the test).
 */
export async function oauth4webapiProof(pair: CryptoKeyPair, options: Oauth4webapiProofOptions = {}): Promise<string> {
  const url = options.url ?? TOKEN_ENDPOINT
  const as: oauth.AuthorizationServer = { issuer: new URL(url).origin, token_endpoint: url }
  const client: oauth.Client = { client_id: 'app' }
  const DPoP = oauth.DPoP(client, pair, options.modify ? { [oauth.modifyAssertion]: options.modify } : {})
  const sent: string[] = []
  const request = () =>
    oauth.refreshTokenGrantRequest(as, client, oauth.None(), 'refresh-token', {
      DPoP,
      [oauth.allowInsecureRequests]: url.startsWith('http:'),
      [oauth.customFetch]: async (_url, init) => {
        sent.push(new Headers(init.headers).get('dpop') ?? '')
        const headers: Record<string, string> = { 'Content-Type': 'application/json' }
        if (options.nonce !== undefined) headers['DPoP-Nonce'] = options.nonce
        return new Response('{}', { status: 400, headers })
      },
    })
  await request()
  if (options.nonce !== undefined) await request()
  const proof = sent.at(-1)
  if (!proof) throw new Error('oauth4webapi sent no DPoP header')
  return proof
}

/** oauth4webapi's own RFC 7638 thumbprint of the key, from the same handle type. */
export function oauth4webapiThumbprint(pair: CryptoKeyPair): Promise<string> {
  const client: oauth.Client = { client_id: 'app' }
  return oauth.DPoP(client, pair).calculateThumbprint()
}

const encoder = new TextEncoder()

/** base64url of the JSON of `value`. */
export function encodeJson(value: unknown): string {
  return toBase64Url(encoder.encode(JSON.stringify(value)))
}

/** The parsed JSON of a proof's header (0) or payload (1). */
export function decodePart(proof: string, index: 0 | 1): Record<string, unknown> {
  const bytes = fromBase64Url(proof.split('.')[index] ?? '')
  if (bytes === null) throw new Error('not base64url')
  return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>
}

/** Signs `header.payload` (both already encoded) with a raw WebCrypto call. */
export async function signParts(encodedHeader: string, encodedPayload: string, pair: CryptoKeyPair, params: Params): Promise<string> {
  const signature = await crypto.subtle.sign(params, pair.privateKey, encoder.encode(`${encodedHeader}.${encodedPayload}`))
  return `${encodedHeader}.${encodedPayload}.${toBase64Url(signature)}`
}

/** Claims of a valid proof for `POST {@link TOKEN_ENDPOINT}` at {@link NOW}. */
export function validClaims(): Record<string, unknown> {
  return { htm: 'POST', htu: TOKEN_ENDPOINT, iat: NOW, jti: toBase64Url(crypto.getRandomValues(new Uint8Array(24))) }
}

/** What {@link rawProof} changes; a member set to `undefined` is removed. */
export interface RawProofOptions {
  readonly header?: Record<string, unknown>
  readonly claims?: Record<string, unknown>
  /** Signs with this key's algorithm; default the header's. */
  readonly signWith?: ProofKeyAlg
}

/**
 * A proof signed by the test's own signer: header `{ typ, alg, jwk }` for the key of `alg` and
 * {@link validClaims}, each changed by `options`. Unchanged, it is valid at {@link NOW}.
 */
export async function rawProof(alg: ProofKeyAlg, options: RawProofOptions = {}): Promise<string> {
  const pair = await keyPair(options.signWith ?? alg)
  const header = withChanges({ typ: 'dpop+jwt', alg, jwk: await publicJwk(await keyPair(alg)) }, options.header)
  const claims = withChanges(validClaims(), options.claims)
  return signParts(encodeJson(header), encodeJson(claims), pair, SIGN[options.signWith ?? alg])
}

function withChanges(base: Record<string, unknown>, changes: Record<string, unknown> = {}): Record<string, unknown> {
  const result = { ...base, ...changes }
  for (const [name, value] of Object.entries(changes)) if (value === undefined) delete result[name]
  return result
}
