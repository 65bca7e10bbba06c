/**
 * The Unity authorize URL is built as one string; it must be byte for byte what the URL API
 * gives, for any input the relay may pass (the redirect URI, scope, state and challenge).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config.ts'
import { basicAuthorization, createUnityClient, formEncode } from '../../src/unity.ts'

/** The URL-API construction the relay used before, kept here as the reference. */
function referenceAuthorizeUrl(endpoint: string, clientId: string, pkce: boolean, p: { redirectUri: string; scope: string; state: string; challenge: string }): string {
  const url = new URL(endpoint)
  url.search = new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: p.redirectUri, scope: p.scope, state: p.state }).toString()
  if (pkce) {
    url.searchParams.set('code_challenge', p.challenge)
    url.searchParams.set('code_challenge_method', 'S256')
  }
  return url.href
}

const TRICKY = [
  '',
  'plain',
  'a b+c',
  "!'()*~-._",
  '%41%zz%',
  '&=?#/:;@[]\\^`{|}<>"',
  'ünïcödé 日本語',
  'emoji 😀',
  'lone \uD800 high',
  'lone \uDC00 low',
  '\u0000\u001f\u007f',
  'https://relay.example.com:8443/callback?x=1&y=2#frag',
  'v1.AbC-_123.eyJ9.sig',
]

function client(env: Record<string, string>) {
  const config = parseConfig({
    UNITY_URL: 'https://unity.example.com/vu/public',
    UNITY_CLIENT_ID: 'relay-test',
    UNITY_CLIENT_SECRET: 'test-only client secret',
    STATE_SECRET: 'test-only-state-secret-0123456789abcdef',
    REFRESH_SEAL_SECRET: 'test-only-refresh-seal-secret-0123456789abcdef',
    ...env,
  })
  return { config, unity: createUnityClient({ config, fetch: () => Promise.reject(new Error('no call expected')) }) }
}

describe('authorizeUrl', () => {
  for (const pkce of ['S256', 'off'] as const) {
    it(`matches the URL API for tricky values (UNITY_PKCE=${pkce})`, () => {
      for (const clientId of ['relay-test', 'id with spaces & ünï', "quote'(s)~"]) {
        const { config, unity } = client({ UNITY_PKCE: pkce, UNITY_CLIENT_ID: clientId, UNITY_URL: 'https://unity.example.com:8443/vu/päth (x)' })
        for (const value of TRICKY) {
          const params = { redirectUri: value, scope: value, state: value, challenge: value }
          expect(unity.authorizeUrl(params)).toBe(referenceAuthorizeUrl(config.authorizeEndpoint, clientId, pkce === 'S256', params))
        }
      }
    })
  }

  it('matches the URL API for any string (property)', () => {
    const { config, unity } = client({})
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.string(), fc.string(), (redirectUri, scope, state, challenge) => {
        const params = { redirectUri, scope, state, challenge }
        expect(unity.authorizeUrl(params)).toBe(referenceAuthorizeUrl(config.authorizeEndpoint, config.clientId, true, params))
      }),
      { numRuns: 500 },
    )
  })
})

describe('formEncode', () => {
  it('is what URLSearchParams writes, for every BMP character and lone surrogates', () => {
    for (let code = 0; code < 0x10000; code += 1) {
      const value = `a${String.fromCharCode(code)}z`
      expect(formEncode(value)).toBe(new URLSearchParams({ v: value }).toString().slice(2))
    }
  })

  it('keeps the RFC 6749 §2.3.1 Basic value', () => {
    // client_id "relay-test", secret "p@ss word:+/ü", form-urlencoded then base64, computed outside the relay.
    expect(basicAuthorization('relay-test', 'p@ss word:+/ü')).toBe('Basic cmVsYXktdGVzdDpwJTQwc3Mrd29yZCUzQSUyQiUyRiVDMyVCQw==')
  })
})
