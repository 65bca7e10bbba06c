/**
 * @module
 * Contract of a standard authorization request's rules (RFC 6749 §4.1.1, §4.1.2.1; RFC 8252
 * §7.1, §7.3, §8.3; RFC 9700 §4.1.3): which redirect URIs the relay sends a browser to, which
 * refusals stay at the relay and which go to the app with `error`, `state` and `iss`, and the
 * app's state echoed exactly.
 */
import { strict as assert } from 'node:assert'
import { assertErrorPage, contract } from './define.ts'
import { RELAY_ORIGIN } from './harness.ts'
import { assertNotRedirected, landing, openStandard, requestAuthorization, signedInStandard } from './standard-support.ts'

/** Loopback redirect URIs an app may use, on any port (RFC 8252 §7.3), with `localhost` (§8.3) and `[::1]`. */
const LOOPBACK_ACCEPTED: ReadonlyArray<readonly [uri: string, port: string]> = [
  ['http://127.0.0.1:53123/callback', '53123'],
  ['http://127.0.0.1:1/callback', '1'],
  ['http://127.0.0.1:65535/', '65535'],
  ['http://127.0.0.1:8080', '8080'],
  ['http://127.0.0.1/cb', '80'],
  ['http://localhost:7777/auth/done', '7777'],
  ['http://[::1]:49152/callback', '49152'],
  ['http://127.0.0.1:53123/cb?app=desk&x=%2e', '53123'],
  ['http://127.0.0.1:53123/cb?', '53123'],
  ['http://127.0.0.1:53123/cb??', '53123'],
]

/** Redirect URIs refused at the relay, with why. */
const REFUSED: ReadonlyArray<readonly [uri: string, why: string]> = [
  ['http://127.0.0.1:53123/callback#frag', 'a fragment (RFC 6749 §3.1.2)'],
  ['http://127.0.0.1:53123/callback#', 'an empty fragment'],
  ['http://user@127.0.0.1:53123/callback', 'userinfo'],
  ['http://127.0.0.1:53123@evil.example/callback', 'userinfo that makes evil.example the host'],
  ['http://127.0.0.1.evil.example:53123/callback', 'a look-alike host'],
  ['http://127.0.0.1:53123.evil.example/callback', 'a port that is no port'],
  ['http://localhost.evil.example/callback', 'a look-alike localhost'],
  ['http://localhost.:53123/callback', 'a trailing dot'],
  ['http://127.0.0.1:53123/a/../callback', 'a path traversal the parser would resolve'],
  ['http://127.0.0.1:53123/%2e%2e/callback', 'a percent-encoded traversal'],
  ['http://127.0.0.1:53123/%2E./callback', 'a mixed percent-encoded traversal'],
  ['http://%31%32%37.0.0.1:53123/callback', 'a percent-encoded host'],
  ['HTTP://127.0.0.1:53123/callback', 'an uppercase scheme'],
  ['Http://127.0.0.1:53123/callback', 'a mixed-case scheme'],
  ['http://LOCALHOST:53123/callback', 'an uppercase host'],
  ['http:\\\\127.0.0.1:53123\\callback', 'backslashes'],
  ['http:/127.0.0.1:53123/callback', 'a missing slash'],
  ['http://127.1:53123/callback', 'a short IPv4 form'],
  ['http://0x7f.0.0.1:53123/callback', 'a hex IPv4 form'],
  ['http://2130706433:53123/callback', 'a decimal IPv4 form'],
  ['http://[0:0:0:0:0:0:0:1]:53123/callback', 'a long IPv6 form'],
  ['http://127.0.0.1:053123/callback', 'a zero-padded port'],
  ['http://127.0.0.2:53123/callback', 'another loopback address than RFC 8252 names'],
  ['http://127.0.0.1:53123/call back', 'a raw space'],
  ['http://127.0.0.1:53123/call\tback', 'a tab the parser would drop'],
  ['https://127.0.0.1:53123/callback', 'https loopback (not in APP_REDIRECT_URIS)'],
  ['http://evil.example/callback', 'any other http host'],
  ['https://evil.example/callback', 'an https URI not in APP_REDIRECT_URIS'],
  ['javascript:alert(1)', 'a script URI'],
  ['data:text/html,hi', 'a data URI'],
  ['com.example.app:/callback', 'a private-use URI not in APP_REDIRECT_URIS'],
  ['//127.0.0.1:53123/callback', 'a relative reference'],
  ['/callback', 'a path'],
  ['', 'an empty value'],
  [`http://127.0.0.1:53123/${'x'.repeat(600)}`, 'an oversized value'],
]

/** Requests whose redirect URI is fine but which break another rule: the error goes to the app. */
const REDIRECTED: ReadonlyArray<readonly [params: Record<string, string | undefined>, error: string, extra?: string]> = [
  [{ response_type: undefined }, 'invalid_request'],
  [{ response_type: 'token' }, 'unsupported_response_type'],
  [{ response_type: 'code id_token' }, 'unsupported_response_type'],
  [{ code_challenge: undefined }, 'invalid_request'],
  [{ code_challenge: 'too-short' }, 'invalid_request'],
  [{ code_challenge_method: undefined }, 'invalid_request'],
  [{ code_challenge_method: 'plain' }, 'invalid_request'],
  [{ scope: 'api "quoted"' }, 'invalid_scope'],
  [{ scope: 'x'.repeat(300) }, 'invalid_scope'],
  [{ return_to: 'https://app.example.com/x' }, 'invalid_request'],
  [{}, 'invalid_request', '&code_challenge_method=S256'],
  [{}, 'invalid_request', '&response_type=code'],
  [{}, 'invalid_scope', '&scope=api&scope=api'],
]

export const standardRequestCases = [
  contract('standard request: loopback redirect URIs on any port, localhost and [::1], with their query kept', async (start) => {
    const relay = await start()
    for (const [uri, port] of LOOPBACK_ACCEPTED) {
      const flow = await signedInStandard(relay, { params: { redirect_uri: uri } })
      assert.match(flow.page, new RegExp(`an app on this computer \\(port ${port}\\)`), uri)
      assert.equal(flow.landed.params.get('state'), 'app-state-1', uri)
      assert.equal(flow.landed.params.get('iss'), RELAY_ORIGIN, uri)
      // RFC 6749 §3.1.2: the endpoint's own query is retained, byte for byte.
      const at = uri.indexOf('?')
      const joiner = at < 0 ? '?' : at === uri.length - 1 ? '' : '&'
      assert.ok(flow.landed.location.startsWith(`${uri}${joiner}code=`), flow.landed.location)
      assert.equal(new URL(flow.landed.location).searchParams.get('code'), flow.code)
    }
  }),

  contract('standard request: every other redirect URI gets the relay’s 400 page, is never redirected to, and begins nothing', async (start) => {
    const relay = await start()
    const records = await relay.raw.count()
    for (const [uri, why] of REFUSED) {
      const { response } = await requestAuthorization(relay, { params: { redirect_uri: uri } })
      const page = await assertErrorPage(response, 400, 'invalid_redirect_uri')
      assert.ok(!page.includes('evil.example'), `the page does not echo the URI (${why})`)
      assertNotRedirected(response)
    }
    // RFC 6749 §3.1: a repeated redirect_uri has no one value to trust.
    const { response } = await requestAuthorization(relay, { extra: `&redirect_uri=${encodeURIComponent('http://127.0.0.1:1/evil')}` })
    await assertErrorPage(response, 400, 'invalid_redirect_uri')
    assertNotRedirected(response)
    assert.equal(await relay.raw.count(), records, 'nothing stored')
  }),

  contract('standard request: LOOPBACK_REDIRECTS=off refuses loopback redirect URIs at the relay', async (start) => {
    const relay = await start({ env: { LOOPBACK_REDIRECTS: 'off', APP_REDIRECT_URIS: 'https://app.example.com/oauth/callback' } })
    const records = await relay.raw.count()
    const { response } = await requestAuthorization(relay)
    await assertErrorPage(response, 400, 'invalid_redirect_uri')
    assertNotRedirected(response)
    assert.equal(await relay.raw.count(), records, 'nothing stored')
    const allowed = await signedInStandard(relay, { params: { redirect_uri: 'https://app.example.com/oauth/callback' } })
    assert.equal(allowed.landed.params.get('state'), 'app-state-1')
  }),

  contract('standard request: APP_REDIRECT_URIS allows exactly its https and private-use URIs, and the page names their host or scheme', async (start) => {
    const relay = await start({ env: { APP_REDIRECT_URIS: 'https://app.example.com/oauth/callback com.example.desk:/oauth2redirect' } })
    const web = await signedInStandard(relay, { params: { redirect_uri: 'https://app.example.com/oauth/callback' } })
    assert.match(web.page, /returns to <strong>app\.example\.com<\/strong>/)
    const native = await signedInStandard(relay, { params: { redirect_uri: 'com.example.desk:/oauth2redirect' } })
    assert.match(native.page, /the app that opens <strong>com\.example\.desk:<\/strong> links/)
    assert.match(native.response.headers.get('Content-Security-Policy') ?? '', /form-action 'self' https:\/\/unity\.example\.com com\.example\.desk:;/)
    assert.ok(native.landed.location.startsWith('com.example.desk:/oauth2redirect?code='))
    // RFC 9700 §4.1.3: exact string comparison, no prefix, no case folding, no added query.
    for (const near of [
      'https://app.example.com/oauth/callback/',
      'https://app.example.com/oauth/callback?x=1',
      'https://app.example.com/oauth/Callback',
      'https://APP.example.com/oauth/callback',
      'https://app.example.com:443/oauth/callback',
      'https://app.example.com/oauth',
      'https://app.example.com.evil.example/oauth/callback',
      'http://app.example.com/oauth/callback',
      'com.example.desk:/oauth2redirect/x',
      'COM.EXAMPLE.DESK:/oauth2redirect',
      'com.example.desk://oauth2redirect',
    ]) {
      const { response } = await requestAuthorization(relay, { params: { redirect_uri: near } })
      await assertErrorPage(response, 400, 'invalid_redirect_uri')
    }
  }),

  contract('standard request: a missing or bad client_id is answered at the relay, never redirected (RFC 6749 §4.1.2.1)', async (start) => {
    const relay = await start()
    const records = await relay.raw.count()
    for (const clientId of [undefined, '', 'x'.repeat(65), 'tab\there', 'né']) {
      const { response } = await requestAuthorization(relay, { params: { client_id: clientId } })
      await assertErrorPage(response, 400, 'invalid_request')
      assertNotRedirected(response)
    }
    const { response } = await requestAuthorization(relay, { extra: '&client_id=second' })
    await assertErrorPage(response, 400, 'invalid_request')
    assert.equal(await relay.raw.count(), records, 'nothing stored')
  }),

  contract('standard request: the client_id is shown escaped, as what the app calls itself', async (start) => {
    const relay = await start()
    const opened = await openStandard(relay, { params: { client_id: '<b>Unity</b> & "Official"' } })
    assert.ok(opened.page.includes('calls itself <strong>&lt;b&gt;Unity&lt;/b&gt; &amp; &quot;Official&quot;</strong>'), opened.page)
  }),

  contract('standard request: other bad requests go to the app’s redirect URI with error, error_description, state and iss', async (start) => {
    const relay = await start()
    const records = await relay.raw.count()
    for (const [params, error, extra] of REDIRECTED) {
      const { response } = await requestAuthorization(relay, { params: { state: 'kept', ...params }, ...(extra === undefined ? {} : { extra }) })
      const label = `${JSON.stringify(params)}${extra ?? ''}`
      const landed = landing(response)
      assert.equal(landed.params.get('error'), error, label)
      assert.equal(typeof landed.params.get('error_description'), 'string', label)
      assert.equal(landed.params.get('state'), 'kept', label)
      assert.equal(landed.params.get('iss'), RELAY_ORIGIN, label)
      assert.equal(landed.params.get('code'), null)
      assert.equal(response.headers.getSetCookie().length, 0, label)
    }
    assert.equal(await relay.raw.count(), records, 'a refused request stores nothing')
  }),

  contract('standard request: state is echoed exactly, reserved characters and unicode included, on the code and on every error', async (start) => {
    const relay = await start()
    const states = ['&=+#%/ ?', 'a&state=evil', '%26%3D', '签名 ✓ 🎉', "'\"<>\\`", 'x'.repeat(512)]
    for (const state of states) {
      const flow = await signedInStandard(relay, { params: { state } })
      assert.equal(flow.landed.params.get('state'), state)
      assert.equal(flow.landed.params.getAll('state').length, 1)
      const cancelled = landing(await relay.decide(await openStandard(relay, { params: { state } }), 'cancel'))
      assert.equal(cancelled.params.get('state'), state)
      const refused = landing((await requestAuthorization(relay, { params: { state, response_type: 'token' } })).response)
      assert.equal(refused.params.get('state'), state)
    }
    // Without a state, none comes back.
    const bare = await signedInStandard(relay, { params: { state: undefined } })
    assert.deepEqual([...bare.landed.params.keys()], ['code', 'iss'])
  }),

  contract('standard request: a state that is repeated, too long, empty or holds control characters is refused to the app, not echoed', async (start) => {
    const relay = await start()
    for (const request of [{ params: { state: 'x'.repeat(513) } }, { params: { state: '' } }, { params: { state: 'line\nbreak' } }, { extra: '&state=second' }]) {
      const landed = landing((await requestAuthorization(relay, request)).response)
      assert.equal(landed.params.get('error'), 'invalid_request', JSON.stringify(request))
      assert.equal(landed.params.get('state'), null)
      assert.equal(landed.params.get('iss'), RELAY_ORIGIN)
    }
  }),

  contract('standard request: the longest state, redirect URI, client_id and scope still fit the signed state', async (start) => {
    const relay = await start()
    const redirect = `http://127.0.0.1:65535/${'p'.repeat(480)}`
    const flow = await signedInStandard(relay, { params: { redirect_uri: redirect, state: '\u{1F389}'.repeat(256), client_id: '"'.repeat(64), scope: `api ${'s'.repeat(250)}` } })
    assert.equal(flow.landed.params.get('state'), '\u{1F389}'.repeat(256))
    assert.ok(flow.state.length <= 4096)
  }),
]

