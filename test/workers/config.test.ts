/**
 * Settings: defaults, every invalid value, and messages that name settings but never values.
 */
import { describe, expect, it } from 'vitest'
import { BadSettings, parseConfig } from '../../src/config.ts'
import { RelayError } from '../../src/errors.ts'
import { DEFAULT_RATE_LIMITS } from '../../src/limits/settings.ts'

const VALID = {
  UNITY_URL: 'https://unity.example.com/vu/public',
  UNITY_CLIENT_ID: 'relay',
  UNITY_CLIENT_SECRET: 'client-secret-value',
  STATE_SECRET: 'a-state-secret-of-at-least-32-bytes!',
  REFRESH_SEAL_SECRET: 'a-refresh-seal-secret-of-32-bytes!!',
}

function problem(env: Record<string, unknown>): RelayError {
  try {
    parseConfig(env)
  } catch (error) {
    if (error instanceof RelayError) return error
    throw error
  }
  throw new Error('parseConfig accepted the settings')
}

describe('parseConfig', () => {
  it('applies the documented defaults', () => {
    expect(parseConfig(VALID)).toEqual({
      authorizeEndpoint: 'https://unity.example.com/vu/public/api/oauth/authorize',
      tokenEndpoint: 'https://unity.example.com/vu/public/api/oauth/token',
      clientId: 'relay',
      clientSecret: 'client-secret-value',
      defaultScope: 'api',
      tokenAuth: 'client_secret_basic',
      pkce: 'S256',
      confirmPage: 'always',
      issuer: undefined,
      stateSecrets: ['a-state-secret-of-at-least-32-bytes!'],
      redirectUri: undefined,
      returnToOrigins: [],
      loopbackRedirects: true,
      appRedirectUris: [],
      stateTtlSeconds: 600,
      codeTtlSeconds: 120,
      codeStore: 'kv',
      rateLimits: DEFAULT_RATE_LIMITS,
      refreshTokens: 'sealed',
      refreshSealSecrets: ['a-refresh-seal-secret-of-32-bytes!!'],
      requireDpop: false,
      refreshGrantTtlSeconds: 7_776_000,
      refreshReuseGraceSeconds: 10,
      pickupHoldSeconds: 20,
      deviceHoldSeconds: 15,
    })
  })

  it('reads PICKUP_HOLD_SECONDS and DEVICE_HOLD_SECONDS from 0 to 20, under openid-client\u2019s 30 s request timeout with Unity\u2019s exchange', () => {
    expect(parseConfig({ ...VALID, PICKUP_HOLD_SECONDS: '0', DEVICE_HOLD_SECONDS: '20' })).toMatchObject({ pickupHoldSeconds: 0, deviceHoldSeconds: 20 })
    for (const value of ['21', '30', '-1', '1.5', 'soon']) {
      const bad = problem({ ...VALID, PICKUP_HOLD_SECONDS: value, DEVICE_HOLD_SECONDS: value })
      expect(bad.description).toContain('PICKUP_HOLD_SECONDS must be a whole number of seconds from 0 to 20')
      expect(bad.description).toContain('DEVICE_HOLD_SECONDS must be a whole number of seconds from 0 to 20')
      expect((bad.cause as BadSettings).names).toEqual(['PICKUP_HOLD_SECONDS', 'DEVICE_HOLD_SECONDS'])
    }
  })

  it('reads REQUIRE_DPOP, which needs sealed refresh tokens', () => {
    expect(parseConfig({ ...VALID, REQUIRE_DPOP: 'true' }).requireDpop).toBe(true)
    expect(parseConfig({ ...VALID, REQUIRE_DPOP: 'false' }).requireDpop).toBe(false)
    expect(parseConfig({ ...VALID, REFRESH_TOKENS: 'passthrough', REQUIRE_DPOP: 'false' }).requireDpop).toBe(false)
    const passthrough = problem({ ...VALID, REFRESH_TOKENS: 'passthrough', REQUIRE_DPOP: 'true' })
    expect(passthrough.description).toContain('REQUIRE_DPOP needs REFRESH_TOKENS=sealed')
    expect((passthrough.cause as BadSettings).names).toEqual(['REQUIRE_DPOP'])
  })

  it('reads the refresh-token settings: sealed needs REFRESH_SEAL_SECRET, passthrough does not', () => {
    const rotating = parseConfig({ ...VALID, REFRESH_SEAL_SECRET_PREVIOUS: 'the-previous-seal-secret-32-bytes!!' })
    expect(rotating.refreshSealSecrets).toEqual(['a-refresh-seal-secret-of-32-bytes!!', 'the-previous-seal-secret-32-bytes!!'])
    const passthrough = parseConfig({ ...VALID, REFRESH_TOKENS: 'passthrough', REFRESH_SEAL_SECRET: undefined })
    expect(passthrough.refreshTokens).toBe('passthrough')
    expect(passthrough.refreshSealSecrets).toEqual([])
    expect(problem({ ...VALID, REFRESH_SEAL_SECRET: undefined }).description).toContain('REFRESH_SEAL_SECRET is missing (REFRESH_TOKENS=sealed, the default, needs it)')
  })

  it('refuses a seal secret that is also a state secret, naming only the seal setting', () => {
    for (const reused of [{ REFRESH_SEAL_SECRET: VALID.STATE_SECRET }, { STATE_SECRET_PREVIOUS: VALID.REFRESH_SEAL_SECRET }]) {
      const error = problem({ ...VALID, ...reused })
      expect((error.cause as BadSettings).names).toEqual(['REFRESH_SEAL_SECRET'])
      expect(error.description).toContain('REFRESH_SEAL_SECRET must differ from STATE_SECRET and STATE_SECRET_PREVIOUS')
    }
  })

  it('reads the rate limits as requests/seconds', () => {
    const config = parseConfig({ ...VALID, RATE_LIMIT_AUTHORIZE: '100/10', RATE_LIMIT_PICKUP: '1/5', RATE_LIMIT_DEVICE_GUESS: '1000/60' })
    expect(config.rateLimits.authorize).toEqual({ limit: 100, periodSeconds: 10 })
    expect(config.rateLimits.pickup).toEqual({ limit: 1, periodSeconds: 5 })
    expect(config.rateLimits.deviceGuess).toEqual({ limit: 1000, periodSeconds: 60 })
    expect(DEFAULT_RATE_LIMITS.deviceGuess).toEqual({ limit: 300, periodSeconds: 60 })
    expect(config.rateLimits.token).toEqual(DEFAULT_RATE_LIMITS.token)
  })

  it('a bare ? or # after UNITY_URL or REDIRECT_URI is refused, though the URL parser drops it', () => {
    for (const suffix of ['?', '#', '/?', '?#']) {
      expect(problem({ ...VALID, UNITY_URL: `https://u.example/public${suffix}` }).description).toContain('UNITY_URL')
      expect(problem({ ...VALID, REDIRECT_URI: `https://relay.example.com/callback${suffix}` }).description).toContain('REDIRECT_URI')
    }
  })

  it('reads every optional setting', () => {
    const config = parseConfig({
      ...VALID,
      UNITY_URL: 'https://unity.example.com/vu/public/',
      UNITY_SCOPE: 'api read',
      UNITY_TOKEN_AUTH: 'client_secret_post',
      UNITY_PKCE: 'off',
      CONFIRM_PAGE: 'never',
      UNITY_ISSUER: 'https://unity.example.com',
      STATE_SECRET_PREVIOUS: 'the-previous-secret-also-32-bytes!!',
      REDIRECT_URI: 'https://relay.example.com/callback',
      RETURN_TO_ALLOWLIST: 'https://a.example.com  https://b.example.com:8443/',
      STATE_TTL_SECONDS: '300',
      CODE_TTL_SECONDS: '60',
      CODE_STORE: 'durable-object',
      REFRESH_GRANT_TTL_SECONDS: '3600',
      REFRESH_REUSE_GRACE_SECONDS: '0',
    })
    expect(config.tokenEndpoint).toBe('https://unity.example.com/vu/public/api/oauth/token')
    expect(config.defaultScope).toBe('api read')
    expect(config.tokenAuth).toBe('client_secret_post')
    expect(config.pkce).toBe('off')
    expect(config.confirmPage).toBe('never')
    expect(config.issuer).toBe('https://unity.example.com')
    expect(config.stateSecrets).toEqual(['a-state-secret-of-at-least-32-bytes!', 'the-previous-secret-also-32-bytes!!'])
    expect(config.redirectUri).toBe('https://relay.example.com/callback')
    expect(config.returnToOrigins).toEqual(['https://a.example.com', 'https://b.example.com:8443'])
    expect(config.stateTtlSeconds).toBe(300)
    expect(config.codeTtlSeconds).toBe(60)
    expect(config.codeStore).toBe('durable-object')
    expect(config.refreshGrantTtlSeconds).toBe(3600)
    expect(config.refreshReuseGraceSeconds).toBe(0)
    expect(parseConfig({ ...VALID, REFRESH_GRANT_TTL_SECONDS: '31536000', REFRESH_REUSE_GRACE_SECONDS: '60' })).toMatchObject({ refreshGrantTtlSeconds: 31_536_000, refreshReuseGraceSeconds: 60 })
  })

  it('reads LOOPBACK_REDIRECTS and APP_REDIRECT_URIS: exact https and private-use URIs', () => {
    const config = parseConfig({ ...VALID, LOOPBACK_REDIRECTS: 'off', APP_REDIRECT_URIS: 'https://app.example.com/cb com.example.app:/callback https://app.example.com/cb' })
    expect(config.loopbackRedirects).toBe(false)
    expect(config.appRedirectUris).toEqual(['https://app.example.com/cb', 'com.example.app:/callback'])
    expect(problem({ ...VALID, LOOPBACK_REDIRECTS: 'yes' }).description).toContain('LOOPBACK_REDIRECTS must be one of on, off')
  })

  it('refuses APP_REDIRECT_URIS entries that are not canonical https or reverse-domain private-use URIs, naming the setting only', () => {
    for (const entry of [
      'http://app.example.com/cb', // clear text
      'http://127.0.0.1:5000/cb', // loopback is LOOPBACK_REDIRECTS'
      'https://app.example.com', // not canonical: the parser writes a trailing /
      'HTTPS://app.example.com/cb',
      'https://app.example.com/a/../cb',
      'https://app.example.com/cb#x',
      'https://user:pw@app.example.com/cb',
      'myapp:/callback', // no dot: not a reverse domain name
      'javascript:alert(1)',
      'not a uri',
      `https://app.example.com/${'x'.repeat(600)}`,
    ]) {
      const error = problem({ ...VALID, APP_REDIRECT_URIS: `https://ok.example.com/cb ${entry}` })
      expect(error.description, entry).toContain('APP_REDIRECT_URIS')
      expect((error.cause as BadSettings).names).toEqual(['APP_REDIRECT_URIS'])
    }
  })

  it('names an unknown CODE_STORE without echoing it', () => {
    expect(() => parseConfig({ ...VALID, CODE_STORE: 'redis://secret-host' })).toThrow(/CODE_STORE must be one of kv, durable-object/)
    expect(() => parseConfig({ ...VALID, CODE_STORE: 'redis://secret-host' })).not.toThrow(/secret-host/)
  })

  it('allows plain http only for loopback Unity servers', () => {
    expect(parseConfig({ ...VALID, UNITY_URL: 'http://127.0.0.1:9000' }).authorizeEndpoint).toBe('http://127.0.0.1:9000/api/oauth/authorize')
    expect(parseConfig({ ...VALID, UNITY_URL: 'http://localhost:9000/' }).tokenEndpoint).toBe('http://localhost:9000/api/oauth/token')
    expect(problem({ ...VALID, UNITY_URL: 'http://unity.example.com' }).description).toContain('UNITY_URL must be an https URL (plain http only for localhost, 127.0.0.1 or [::1])')
  })

  it('names every bad setting, and only names, in the cause kept for the log', () => {
    const error = problem({ ...VALID, UNITY_CLIENT_SECRET: undefined, UNITY_PKCE: 'plain-secret-ish', CODE_TTL_SECONDS: '5', RETURN_TO_ALLOWLIST: 'nope' })
    expect(error.cause).toBeInstanceOf(BadSettings)
    expect((error.cause as BadSettings).names).toEqual(['UNITY_CLIENT_SECRET', 'UNITY_PKCE', 'RETURN_TO_ALLOWLIST', 'CODE_TTL_SECONDS'])
  })

  it.each([
    ['UNITY_URL', { UNITY_URL: undefined }],
    ['UNITY_URL', { UNITY_URL: '   ' }],
    ['UNITY_URL', { UNITY_URL: 'unity.example.com' }],
    ['UNITY_URL', { UNITY_URL: 'https://unity.example.com/?x=1' }],
    ['UNITY_URL', { UNITY_URL: 'https://user:pw@unity.example.com' }],
    ['UNITY_URL', { UNITY_URL: 'ftp://unity.example.com' }],
    ['UNITY_CLIENT_ID', { UNITY_CLIENT_ID: undefined }],
    ['UNITY_CLIENT_SECRET', { UNITY_CLIENT_SECRET: '' }],
    ['UNITY_SCOPE', { UNITY_SCOPE: 'api  read' }],
    ['UNITY_TOKEN_AUTH', { UNITY_TOKEN_AUTH: 'private_key_jwt' }],
    ['UNITY_PKCE', { UNITY_PKCE: 'plain' }],
    ['CONFIRM_PAGE', { CONFIRM_PAGE: 'sometimes' }],
    ['CONFIRM_PAGE', { CONFIRM_PAGE: 'Never' }],
    ['STATE_SECRET', { STATE_SECRET: undefined }],
    ['STATE_SECRET', { STATE_SECRET: 'x'.repeat(31) }],
    ['STATE_SECRET_PREVIOUS', { STATE_SECRET_PREVIOUS: 'short' }],
    ['REDIRECT_URI', { REDIRECT_URI: 'http://relay.example.com/callback' }],
    ['REDIRECT_URI', { REDIRECT_URI: 'https://relay.example.com/callback#frag' }],
    ['RETURN_TO_ALLOWLIST', { RETURN_TO_ALLOWLIST: 'https://app.example.com/path' }],
    ['RETURN_TO_ALLOWLIST', { RETURN_TO_ALLOWLIST: 'app.example.com' }],
    ['STATE_TTL_SECONDS', { STATE_TTL_SECONDS: '0' }],
    ['STATE_TTL_SECONDS', { STATE_TTL_SECONDS: '3601' }],
    ['STATE_TTL_SECONDS', { STATE_TTL_SECONDS: '10m' }],
    ['CODE_TTL_SECONDS', { CODE_TTL_SECONDS: '59' }],
    ['CODE_TTL_SECONDS', { CODE_TTL_SECONDS: '1.5' }],
    ['CODE_TTL_SECONDS', { CODE_TTL_SECONDS: '601' }],
    ['RATE_LIMIT_AUTHORIZE', { RATE_LIMIT_AUTHORIZE: '600' }],
    ['RATE_LIMIT_CALLBACK', { RATE_LIMIT_CALLBACK: '0/60' }],
    ['RATE_LIMIT_TOKEN', { RATE_LIMIT_TOKEN: '10/0' }],
    ['RATE_LIMIT_REFRESH', { RATE_LIMIT_REFRESH: '10/3601' }],
    ['RATE_LIMIT_PICKUP', { RATE_LIMIT_PICKUP: 'off' }],
    ['RATE_LIMIT_DEVICE', { RATE_LIMIT_DEVICE: '-1/60' }],
    ['RATE_LIMIT_DEVICE_GUESS', { RATE_LIMIT_DEVICE_GUESS: '300/min' }],
    ['REFRESH_GRANT_TTL_SECONDS', { REFRESH_GRANT_TTL_SECONDS: '3599' }],
    ['REFRESH_GRANT_TTL_SECONDS', { REFRESH_GRANT_TTL_SECONDS: '31536001' }],
    ['REFRESH_GRANT_TTL_SECONDS', { REFRESH_GRANT_TTL_SECONDS: '90d' }],
    ['REFRESH_REUSE_GRACE_SECONDS', { REFRESH_REUSE_GRACE_SECONDS: '61' }],
    ['REFRESH_REUSE_GRACE_SECONDS', { REFRESH_REUSE_GRACE_SECONDS: '-1' }],
    ['REFRESH_TOKENS', { REFRESH_TOKENS: 'sealed-ish' }],
    ['REFRESH_TOKENS', { REFRESH_TOKENS: 'Sealed' }],
    ['REFRESH_TOKENS', { REFRESH_TOKENS: 'off' }],
    ['REQUIRE_DPOP', { REQUIRE_DPOP: 'yes' }],
    ['REQUIRE_DPOP', { REQUIRE_DPOP: 'TRUE' }],
    ['REFRESH_SEAL_SECRET', { REFRESH_SEAL_SECRET: undefined }],
    ['REFRESH_SEAL_SECRET', { REFRESH_SEAL_SECRET: '  ' }],
    ['REFRESH_SEAL_SECRET', { REFRESH_SEAL_SECRET: 'x'.repeat(31) }],
    ['REFRESH_SEAL_SECRET', { REFRESH_SEAL_SECRET: 'é'.repeat(15) }],
    ['REFRESH_SEAL_SECRET', { REFRESH_TOKENS: 'passthrough', REFRESH_SEAL_SECRET: 'short' }],
    ['REFRESH_SEAL_SECRET', { REFRESH_SEAL_SECRET: VALID.STATE_SECRET }],
    ['REFRESH_SEAL_SECRET', { REFRESH_SEAL_SECRET: 'the-previous-secret-also-32-bytes!!', STATE_SECRET_PREVIOUS: 'the-previous-secret-also-32-bytes!!' }],
    ['REFRESH_SEAL_SECRET_PREVIOUS', { REFRESH_SEAL_SECRET_PREVIOUS: 'short' }],
    ['REFRESH_SEAL_SECRET_PREVIOUS', { REFRESH_SEAL_SECRET_PREVIOUS: VALID.STATE_SECRET }],
  ])('names %s when it is invalid', (name, override) => {
    const error = problem({ ...VALID, ...override })
    expect(error.code).toBe('misconfigured')
    expect(error.status).toBe(500)
    expect(error.description).toContain(name)
  })

  it('counts STATE_SECRET length in bytes, not characters', () => {
    expect(problem({ ...VALID, STATE_SECRET: 'é'.repeat(15) }).description).toContain('STATE_SECRET')
    expect(parseConfig({ ...VALID, STATE_SECRET: 'é'.repeat(16) }).stateSecrets).toEqual(['é'.repeat(16)])
  })

  it('lists every problem at once and never echoes a value', () => {
    const error = problem({
      UNITY_URL: 'http://leaky-host.example.com',
      UNITY_CLIENT_SECRET: 'super-secret-client-value',
      STATE_SECRET: 'tiny-secret-value',
      CODE_TTL_SECONDS: 'ninety-nine',
      REFRESH_SEAL_SECRET: 'tiny-seal-value',
      REFRESH_TOKENS: 'sealed-please',
    })
    for (const name of ['UNITY_URL', 'UNITY_CLIENT_ID', 'STATE_SECRET', 'CODE_TTL_SECONDS', 'REFRESH_SEAL_SECRET', 'REFRESH_TOKENS']) expect(error.description).toContain(name)
    for (const value of ['leaky-host', 'super-secret-client-value', 'tiny-secret-value', 'ninety-nine', 'tiny-seal-value', 'sealed-please']) expect(error.message).not.toContain(value)
  })

  it('ignores settings that are not strings', () => {
    expect(problem({ ...VALID, UNITY_CLIENT_ID: 42 }).description).toContain('UNITY_CLIENT_ID is missing')
  })
})
