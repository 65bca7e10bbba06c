/**
 * @module
 * Contract of the canonical host: with `REDIRECT_URI` set, `/authorize` opened under another host
 * name is refused with a page naming the relay's address, before anything is signed or set.
 */
import { strict as assert } from 'node:assert'
import { challengeOf, makeVerifier } from '../../dev/pkce.ts'
import { assertErrorPage, contract } from './define.ts'

const authorizeQuery = async () => new URLSearchParams({ code_challenge: await challengeOf(makeVerifier()), code_challenge_method: 'S256' })

export const canonicalHostCases = [
  contract('canonical host: another host name than REDIRECT_URI\'s is refused, naming only the configured address', async (start) => {
    const relay = await start({ env: { REDIRECT_URI: 'http://127.0.0.1:8787/callback' } })
    const before = await relay.raw.count()
    for (const origin of ['http://localhost:8787', 'https://attacker.example.net', 'http://127.0.0.2:8787']) {
      const response = await relay.app.request(`${origin}/authorize?${await authorizeQuery()}`)
      const page = await assertErrorPage(response, 400, 'wrong_host')
      assert.ok(page.includes('http://127.0.0.1:8787/'), 'the page names the relay address')
      assert.equal(page.includes('localhost') || page.includes('attacker') || page.includes('127.0.0.2'), false, 'the page never echoes the request host')
      assert.equal(response.headers.get('Location'), null)
      assert.deepEqual(response.headers.getSetCookie(), [], 'no binding cookie on the wrong host')
      assert.equal(response.headers.get('Cache-Control'), 'no-store')
    }
    assert.equal(await relay.raw.count(), before)
  }),

  contract('canonical host: the same host name passes, whatever the port, scheme or letter case', async (start) => {
    const relay = await start({ env: { REDIRECT_URI: 'https://login.example.com/relay/callback' } })
    for (const origin of ['https://login.example.com', 'https://LOGIN.example.com', 'http://login.example.com:8443']) {
      const response = await relay.app.request(`${origin}/authorize?${await authorizeQuery()}`)
      assert.notEqual(response.status, 400, origin)
      assert.ok(response.status < 400, `${origin}: ${response.status}`)
      assert.equal(response.headers.getSetCookie().length, 1, origin)
    }
  }),

  contract('canonical host: without REDIRECT_URI any host may start a sign-in', async (start) => {
    const relay = await start()
    const response = await relay.app.request(`http://localhost:8787/authorize?${await authorizeQuery()}`)
    assert.ok(response.status < 400, String(response.status))
    assert.equal(response.headers.getSetCookie().length, 1)
  }),

  contract('canonical host: the other endpoints are not affected', async (start) => {
    const relay = await start({ env: { REDIRECT_URI: 'http://127.0.0.1:8787/callback' } })
    const health = await relay.app.request('http://localhost:8787/healthz')
    assert.equal(health.status, 200)
  }),
]
