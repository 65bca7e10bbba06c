/**
 * @module
 * Contract of the canonical host: with a loopback `REDIRECT_URI`, `/authorize` opened under another
 * loopback name on the same port is sent to `REDIRECT_URI`'s name before anything is signed or set.
 */
import { strict as assert } from 'node:assert'
import { challengeOf, makeVerifier } from '../../dev/pkce.ts'
import { contract } from './define.ts'

const authorizeQuery = async () => new URLSearchParams({ code_challenge: await challengeOf(makeVerifier()), code_challenge_method: 'S256', scope: 'api', return_to: 'https://app.example.com/x?y=1' })

export const canonicalHostCases = [
  contract('canonical host: another loopback name is redirected to REDIRECT_URI\'s, same path and query, setting and storing nothing', async (start) => {
    const relay = await start({ env: { REDIRECT_URI: 'http://127.0.0.1:8787/callback' } })
    const before = await relay.raw.count()
    for (const host of ['localhost:8787', '[::1]:8787']) {
      const query = await authorizeQuery()
      const response = await relay.app.request(`http://${host}/authorize?${query}`)
      assert.equal(response.status, 302, host)
      assert.equal(response.headers.get('Location'), `http://127.0.0.1:8787/authorize?${query}`)
      assert.deepEqual(response.headers.getSetCookie(), [], 'no binding cookie under the wrong name')
      assert.equal(response.headers.get('Cache-Control'), 'no-store')
    }
    assert.equal(await relay.raw.count(), before)
  }),

  contract('canonical host: the redirect keeps a path prefix from REDIRECT_URI and never takes its origin from input', async (start) => {
    const relay = await start({ env: { REDIRECT_URI: 'http://localhost:8000/relay/callback' } })
    const query = await authorizeQuery()
    const response = await relay.app.request(`http://127.0.0.1:8000/authorize?${query}`, { headers: { 'X-Forwarded-Host': 'evil.example' } })
    assert.equal(response.headers.get('Location'), `http://localhost:8000/relay/authorize?${query}`)
  }),

  contract('canonical host: the configured name, another port, a public host or no REDIRECT_URI all go ahead', async (start) => {
    const cases: Array<[string | undefined, string]> = [
      ['http://127.0.0.1:8787/callback', 'http://127.0.0.1:8787'],
      // Another port may be a proxy in front of the relay that rewrites Host: a redirect could loop.
      ['http://127.0.0.1:8443/callback', 'http://localhost:8787'],
      // Behind a proxy the request's host may not be the browser's, so public hosts are left alone.
      ['https://login.example.com/relay/callback', 'https://relay.example.com'],
      [undefined, 'http://localhost:8787'],
    ]
    for (const [redirectUri, origin] of cases) {
      const relay = await start({ env: { REDIRECT_URI: redirectUri } })
      const response = await relay.app.request(`${origin}/authorize?${await authorizeQuery()}`)
      assert.ok(response.status === 200 || response.status === 302, `${redirectUri} at ${origin}: ${response.status}`)
      assert.equal(response.headers.getSetCookie().length, 1, `${redirectUri} at ${origin}: the flow started`)
    }
  }),

  contract('canonical host: only GET /authorize is redirected', async (start) => {
    const relay = await start({ env: { REDIRECT_URI: 'http://127.0.0.1:8787/callback' } })
    assert.equal((await relay.app.request('http://localhost:8787/healthz')).status, 200)
    const post = await relay.app.request('http://localhost:8787/authorize', { method: 'POST' })
    assert.notEqual(post.status, 302)
  }),
]
