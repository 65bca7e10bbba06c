/**
 * @module
 * fast-check properties of the standard flow's validators: the redirect-URI rule
 * (`checkAppRedirectUri`) against an oracle written from RFC 8252 §7.3 and the WHATWG URL
 * parser's own spelling, and the authorization request reader (`readStandardRequest`), which
 * must never throw anything but its two refusals and must echo `state` exactly. Plain web APIs,
 * so any runtime can run them. The GET /authorize property with `redirect_uri` is in
 * `properties.ts`, on a real relay.
 */
import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { MAX_APP_STATE_LENGTH, readStandardRequest } from '../../src/authorize-request.ts'
import { RelayError } from '../../src/errors.ts'
import { checkAppRedirectUri, MAX_REDIRECT_URI_LENGTH, withQuery } from '../../src/redirect-uri.ts'
import type { ParserProperty } from './parsers.ts'

/** The allowlist the properties run with: one https URI and one private-use URI. */
const ALLOWLIST = ['https://app.example.com/oauth/callback', 'com.example.desk:/oauth2redirect'] as const

/** RFC 8252 §7.3, §8.3: the loopback hosts, as the oracle spells them. */
const LOOPBACK = /^http:\/\/(127\.0\.0\.1|\[::1\]|localhost)(:[0-9]{1,5})?(\/[^#]*)?$/

/**
 * Whether a redirect URI is one the relay may send a browser to, decided from the outside: in
 * the allowlist exactly, or a loopback URI whose text is the URL parser's own serialisation.
 */
function oracle(raw: string, loopback: boolean): boolean {
  if (raw.length === 0 || raw.length > MAX_REDIRECT_URI_LENGTH || raw.includes('#')) return false
  if ((ALLOWLIST as readonly string[]).includes(raw)) return true
  if (!loopback || !LOOPBACK.test(raw)) return false
  const url = URL.parse(raw)
  if (url === null || url.username !== '' || url.password !== '') return false
  return url.href === raw || `${raw}/` === url.href
}

/** Raw pieces that catch parsers out: case, encodings, separators, look-alike hosts. */
const piece = fc.constantFrom(
  'http://', 'HTTP://', 'https://', 'http:', '//', '/', '\\', '@', ':', '#', '?', '&', '%2e', '%2E', '%2f', '..', '.', ' ', '\t', '\n',
  '127.0.0.1', '127.1', '[::1]', '[0:0:0:0:0:0:0:1]', 'localhost', 'LOCALHOST', 'evil.example', '.evil.example', '0x7f.0.0.1',
  ':53123', ':0', ':65535', ':65536', ':080', 'callback', 'cb', 'user', 'com.example.desk:', 'javascript:', '%00', '\u00e9', '\uff0e',
)
const loopbackBase = fc.constantFrom('http://127.0.0.1', 'http://[::1]', 'http://localhost')
const redirectUri = fc.oneof(
  // Well-formed loopback URIs with ports, paths and queries.
  fc.tuple(loopbackBase, fc.option(fc.integer({ min: 0, max: 70000 }), { nil: undefined }), fc.webPath(), fc.option(fc.webQueryParameters(), { nil: undefined }))
    .map(([base, port, path, query]) => `${base}${port === undefined ? '' : `:${port}`}${path}${query === undefined ? '' : `?${query}`}`),
  // The same, with pieces spliced in.
  fc.tuple(loopbackBase, fc.array(piece, { maxLength: 6 })).map(([base, pieces]) => base + pieces.join('')),
  fc.array(piece, { minLength: 1, maxLength: 10 }).map((pieces) => pieces.join('')),
  fc.constantFrom(...ALLOWLIST),
  fc.tuple(fc.constantFrom(...ALLOWLIST), piece).map(([entry, extra]) => entry + extra),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.string({ maxLength: 80 }),
  fc.constant(`http://127.0.0.1:1/${'x'.repeat(MAX_REDIRECT_URI_LENGTH)}`),
)

const redirectUriProperty = (numRuns: number): ParserProperty => ({
  name: `fuzz: redirect_uri (${numRuns} cases): accepted exactly when the RFC 8252 oracle accepts, and the code lands on its origin with its query kept`,
  async run() {
    await fc.assert(
      fc.property(redirectUri, fc.boolean(), (raw, loopback) => {
        const accepted = checkAppRedirectUri(raw, { loopback, allowlist: ALLOWLIST })
        assert.equal(accepted !== null, oracle(raw, loopback), raw)
        if (accepted === null) return
        assert.equal(accepted.uri, raw)
        const target = withQuery(raw, { code: 'c&=+', state: 's#?', iss: 'https://relay.example.com' })
        assert.ok(target.startsWith(raw), 'the redirect URI is kept byte for byte')
        const url = new URL(target)
        assert.equal(url.hash, '', 'no fragment')
        assert.equal(url.searchParams.get('code'), 'c&=+')
        assert.equal(url.searchParams.get('state'), 's#?')
        if (accepted.kind === 'loopback') {
          assert.ok(['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname))
          assert.equal(accepted.port, url.port === '' ? '80' : url.port)
        }
      }),
      { numRuns },
    )
  },
})

/** A query value as a parser hands it over: absent, one string, or a repeated name's array. */
const value = <T extends string>(usual: fc.Arbitrary<T>): fc.Arbitrary<string | string[] | undefined> =>
  fc.oneof(
    { arbitrary: usual, weight: 6 },
    { arbitrary: fc.constant(undefined), weight: 2 },
    { arbitrary: fc.string({ maxLength: 30 }), weight: 1 },
    { arbitrary: fc.array(usual, { minLength: 2, maxLength: 3 }), weight: 1 },
  )
const appState = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
  fc.constantFrom('&=+#%/ ?', '\u0000', 'line\nbreak', '\ud800', 'x'.repeat(MAX_APP_STATE_LENGTH), 'x'.repeat(MAX_APP_STATE_LENGTH + 1), ''),
)
const requestQuery = fc.record(
  {
    redirect_uri: value(fc.oneof(fc.constant('http://127.0.0.1:53123/callback'), redirectUri)),
    client_id: value(fc.oneof(fc.constant('app'), fc.string({ maxLength: 70 }))),
    response_type: value(fc.constantFrom('code', 'token', 'code id_token', 'CODE')),
    code_challenge: value(fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{43}$/), fc.stringMatching(/^[A-Za-z0-9_=+/-]{0,50}$/))),
    code_challenge_method: value(fc.constantFrom('S256', 'plain', 's256')),
    scope: value(fc.oneof(fc.constantFrom('api', 'api read', 'a"b', ''), fc.string({ maxLength: 300 }))),
    state: value(appState),
    return_to: fc.option(fc.constant('https://app.example.com/'), { nil: undefined, freq: 8 }),
  },
  { requiredKeys: [] },
)

const requestProperty = (numRuns: number): ParserProperty => ({
  name: `fuzz: standard authorization request (${numRuns} cases): refused at the relay or redirected to the checked URI, state echoed exactly, no other throw`,
  async run() {
    await fc.assert(
      fc.property(requestQuery, fc.boolean(), (query, loopback) => {
        const settings = { loopbackRedirects: loopback, appRedirectUris: ALLOWLIST, defaultScope: 'api' }
        let result: ReturnType<typeof readStandardRequest>
        try {
          result = readStandardRequest(query, settings)
        } catch (error) {
          assert.ok(error instanceof RelayError, String(error))
          assert.ok(error.code === 'invalid_redirect_uri' || error.code === 'invalid_request', error.code)
          // RFC 6749 §4.1.2.1: only a bad redirect URI or client_id stays at the relay.
          const goodRedirect = typeof query.redirect_uri === 'string' && oracle(query.redirect_uri, loopback)
          assert.equal(error.code === 'invalid_redirect_uri', !goodRedirect)
          return
        }
        assert.equal(typeof query.redirect_uri, 'string')
        assert.ok(oracle(query.redirect_uri as string, loopback), 'redirects only to a checked URI')
        assert.equal(result.redirect.uri, query.redirect_uri)
        assert.equal(result.state === undefined || result.state === query.state, true, 'state is the app’s own, exactly')
        if (result.kind === 'request') {
          assert.equal(query.response_type, 'code')
          assert.equal(query.code_challenge_method, 'S256')
          assert.match(result.challenge, /^[A-Za-z0-9_-]{43}$/)
          assert.equal(result.clientId, query.client_id)
          assert.equal(result.state, query.state)
          assert.equal(query.return_to, undefined)
        } else {
          assert.ok(['invalid_request', 'unsupported_response_type', 'invalid_scope'].includes(result.error), result.error)
          if (typeof query.state === 'string' && query.state.length >= 8) assert.equal(result.description.includes(query.state), false, 'the description is the relay’s own')
        }
      }),
      { numRuns },
    )
  },
})

/** The standard flow's validator properties, each at `numRuns` cases. */
export function standardProperties(numRuns: number): readonly ParserProperty[] {
  return [redirectUriProperty(numRuns), requestProperty(numRuns)]
}
