/**
 * @module
 * Contract of GET /authorize: the redirect to Unity, the binding cookie, and every refusal.
 */
import { strict as assert } from 'node:assert'
import { challengeOf, makeVerifier } from '../../dev/pkce.ts'
import { assertErrorPage, contract, cookieAttributes } from './define.ts'
import { RELAY_ORIGIN } from './harness.ts'

const validChallenge = async () => challengeOf(makeVerifier())

export const authorizeCases = [
  contract('authorize: redirects to Unity with exactly the expected parameters', async (start) => {
    const relay = await start()
    const flow = await relay.authorize()
    const url = flow.location
    assert.equal(`${url.origin}${url.pathname}`, 'https://unity.example.com/vu/public/api/oauth/authorize')
    assert.deepEqual([...url.searchParams.keys()].sort(), ['client_id', 'code_challenge', 'code_challenge_method', 'redirect_uri', 'response_type', 'scope', 'state'])
    assert.equal(url.searchParams.get('response_type'), 'code')
    assert.equal(url.searchParams.get('client_id'), 'relay-test')
    assert.equal(url.searchParams.get('redirect_uri'), `${RELAY_ORIGIN}/callback`)
    assert.equal(url.searchParams.get('scope'), 'api')
    assert.equal(url.searchParams.get('code_challenge'), flow.challenge)
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256')
    assert.match(flow.state, /^v1\.[\w-]{8}\.[\w-]+\.[\w-]{43}$/)
  }),

  contract('authorize: with CONFIRM_PAGE=never, a 302 straight to Unity with no-store and no-referrer', async (start) => {
    const relay = await start({ env: { CONFIRM_PAGE: 'never' } })
    const response = await relay.fetch(`/authorize?code_challenge=${await validChallenge()}&code_challenge_method=S256`)
    assert.equal(response.status, 302)
    assert.equal(response.headers.get('Cache-Control'), 'no-store')
    assert.equal(response.headers.get('Referrer-Policy'), 'no-referrer')
    const location = new URL(response.headers.get('Location') ?? '')
    assert.equal(`${location.origin}${location.pathname}`, 'https://unity.example.com/vu/public/api/oauth/authorize')
    assert.equal(response.headers.getSetCookie().length, 1)
  }),

  contract('authorize: UNITY_PKCE=off keeps the challenge away from Unity', async (start) => {
    const relay = await start({ env: { UNITY_PKCE: 'off' } })
    const flow = await relay.authorize()
    assert.equal(flow.location.searchParams.has('code_challenge'), false)
    assert.equal(flow.location.searchParams.has('code_challenge_method'), false)
    assert.equal(flow.location.searchParams.get('response_type'), 'code')
  }),

  contract('authorize: forwards a requested scope, else UNITY_SCOPE', async (start) => {
    const relay = await start({ env: { UNITY_SCOPE: 'api read' } })
    assert.equal((await relay.authorize()).location.searchParams.get('scope'), 'api read')
    assert.equal((await relay.authorize({ scope: 'api offline' })).location.searchParams.get('scope'), 'api offline')
  }),

  contract('authorize: REDIRECT_URI overrides the request origin', async (start) => {
    const relay = await start({ env: { REDIRECT_URI: 'https://relay.example.com/relay/callback' } })
    assert.equal((await relay.authorize()).location.searchParams.get('redirect_uri'), 'https://relay.example.com/relay/callback')
  }),

  contract('authorize: sets a __Host- binding cookie with strict attributes', async (start) => {
    const relay = await start()
    const { response, state } = await relay.open()
    const setCookies = response.headers.getSetCookie()
    assert.equal(setCookies.length, 1)
    const { name, value, attributes } = cookieAttributes(setCookies[0] ?? '')
    assert.match(name, /^__Host-uor-[\w-]{12}$/)
    assert.match(value, /^[\w-]{43}$/)
    assert.equal(attributes.get('max-age'), '600')
    assert.equal(attributes.get('path'), '/')
    assert.equal(attributes.has('httponly'), true)
    assert.equal(attributes.has('secure'), true)
    assert.equal(attributes.get('samesite'), 'Lax')
    assert.equal(attributes.has('domain'), false)
    assert.match(state, /^v1\./)
    assert.equal(state.includes(value), false, 'the state must not carry the nonce itself')
  }),

  contract('authorize: two flows get two different cookies', async (start) => {
    const relay = await start()
    const [first, second] = [await relay.authorize(), await relay.authorize()]
    assert.notEqual(first.cookie.split('=')[0], second.cookie.split('=')[0])
  }),

  contract('authorize: the state stays under 300 characters for a typical request', async (start) => {
    const relay = await start()
    const flow = await relay.authorize({ return_to: 'https://app.example.com/signed-in?next=%2Fdashboard' })
    assert.ok(flow.state.length < 300, `state is ${flow.state.length} characters`)
  }),

  contract('authorize: refuses malformed input with 400 and sets no cookie', async (start) => {
    const relay = await start()
    const challenge = await validChallenge()
    const bad: Array<[string, string]> = [
      ['', 'invalid_request'],
      [`code_challenge_method=S256`, 'invalid_request'],
      [`code_challenge=${challenge.slice(1)}&code_challenge_method=S256`, 'invalid_request'],
      [`code_challenge=${challenge}A&code_challenge_method=S256`, 'invalid_request'],
      [`code_challenge=${challenge.slice(1)}%2B&code_challenge_method=S256`, 'invalid_request'],
      [`code_challenge=${challenge}`, 'invalid_request'],
      [`code_challenge=${challenge}&code_challenge_method=plain`, 'invalid_request'],
      [`code_challenge=${challenge}&code_challenge=${challenge}&code_challenge_method=S256`, 'invalid_request'],
      [`code_challenge=${challenge}&code_challenge_method=S256&scope=`, 'invalid_scope'],
      [`code_challenge=${challenge}&code_challenge_method=S256&scope=api%20%20read`, 'invalid_scope'],
      [`code_challenge=${challenge}&code_challenge_method=S256&scope=api%22`, 'invalid_scope'],
      [`code_challenge=${challenge}&code_challenge_method=S256&scope=${'a'.repeat(257)}`, 'invalid_scope'],
      [`code_challenge=${challenge}&code_challenge_method=S256&scope=api&scope=read`, 'invalid_request'],
    ]
    for (const [query, code] of bad) {
      const response = await relay.fetch(`/authorize?${query}`)
      await assertErrorPage(response, 400, code)
      assert.deepEqual(response.headers.getSetCookie(), [], query)
      assert.equal(response.headers.get('Location'), null)
    }
  }),

  contract('authorize: return_to must have exactly an allowlisted origin', async (start) => {
    const relay = await start()
    const challenge = await validChallenge()
    const allowed = ['https://app.example.com', 'https://app.example.com/', 'https://app.example.com/done?x=1', 'https://desk.example.org:8443/after']
    for (const returnTo of allowed) {
      const response = await relay.fetch(`/authorize?${new URLSearchParams({ code_challenge: challenge, code_challenge_method: 'S256', return_to: returnTo })}`)
      assert.equal(response.status, 200, returnTo)
    }
    const refused = [
      '//evil.example/x',
      '/relative/path',
      'javascript:alert(1)',
      'https://evil.example',
      'http://app.example.com/done',
      'https://app.example.com.evil.example/',
      'https://app.example.co/',
      'https://app.example.com@evil.example/',
      'https://user:pass@app.example.com/',
      'https://app.example.com:444/',
      'https://desk.example.org/after',
      'https://APP.example.com/',
      'https:\\\\app.example.com\\evil',
      'https://app.example.com\\@evil.example/',
      '\thttps://app.example.com/',
      'data:text/html,hi',
      `https://app.example.com/${'x'.repeat(600)}`,
    ]
    for (const returnTo of refused) {
      const response = await relay.fetch(`/authorize?${new URLSearchParams({ code_challenge: challenge, code_challenge_method: 'S256', return_to: returnTo })}`)
      await assertErrorPage(response, 400, 'invalid_return_to')
      assert.deepEqual(response.headers.getSetCookie(), [], returnTo)
    }
  }),

  contract('authorize: return_to is refused when no allowlist is set', async (start) => {
    const relay = await start({ env: { RETURN_TO_ALLOWLIST: undefined } })
    const query = new URLSearchParams({ code_challenge: await validChallenge(), code_challenge_method: 'S256', return_to: 'https://app.example.com/' })
    await assertErrorPage(await relay.fetch(`/authorize?${query}`), 400, 'invalid_return_to')
  }),

  contract('authorize: error pages escape what they show and carry the page headers', async (start) => {
    const relay = await start()
    const response = await relay.fetch('/authorize?code_challenge=%3Cscript%3Ealert(1)%3C%2Fscript%3E&code_challenge_method=S256')
    const body = await assertErrorPage(response, 400, 'invalid_request')
    assert.equal(body.includes('<script'), false)
    assert.equal(response.headers.get('Referrer-Policy'), 'no-referrer')
  }),
]
