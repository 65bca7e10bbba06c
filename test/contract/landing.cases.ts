/**
 * @module
 * Contract of GET /: a static page about the relay, under the same headers as every page.
 */
import { strict as assert } from 'node:assert'
import { landingPage } from '../../src/pages.ts'
import { assertPageHeaders, contract } from './define.ts'

export const landingCases = [
  contract('landing: GET / describes the relay and lists its endpoints, storing and setting nothing', async (start) => {
    const relay = await start()
    const before = await relay.raw.count()
    const response = await relay.fetch('/?code=leak&state=<b>x</b>')
    const page = await response.text()
    assert.equal(response.status, 200)
    assert.match(response.headers.get('Content-Type') ?? '', /^text\/html/)
    assertPageHeaders(response)
    assert.ok(page.startsWith('<!doctype html>'))
    assert.ok(page.includes('Unity sign-in relay'))
    assert.ok(page.includes('unity.example.com'), 'names the Unity server it signs in to')
    for (const endpoint of ['GET /authorize', 'POST /authorize', 'GET /callback', 'POST /token', 'POST /device_authorization', 'GET /device', 'GET /healthz']) assert.ok(page.includes(endpoint), endpoint)
    assert.equal(page.includes('leak') || page.includes('<b>'), false, 'no input on the page')
    assert.ok(page.includes('<a href="/.well-known/oauth-authorization-server">server metadata</a>'), 'links the metadata the relay serves')
    const nonce = /<style nonce="([^"]+)"/.exec(page)?.[1]
    assert.ok(nonce && (response.headers.get('Content-Security-Policy') ?? '').includes(`'nonce-${nonce}'`), 'the stylesheet is allowed by the CSP nonce')
    assert.deepEqual(response.headers.getSetCookie(), [])
    assert.equal(await relay.raw.count(), before)
  }),

  contract('landing: without a metadata path the page has no link', async () => {
    const page = landingPage({ unityHost: 'unity.example.com' })
    assert.equal(page.includes('<a '), false, page)
  }),
]
