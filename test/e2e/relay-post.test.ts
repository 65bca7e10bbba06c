/**
 * @module
 * Scenario 1 again with the other client authentication method: the relay runs as
 * `relay-dev-post` with `UNITY_TOKEN_AUTH=client_secret_post`.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Browser } from 'playwright-core'
import type { UnityStandin } from '../../dev/unity-standin.ts'
import { happyPath } from './flow.ts'
import { allStarted, closeAll, launchBrowser, POST_CLIENT, RELAY_PORTS, startRelay, startStandin } from './harness.ts'
import type { RelayProcess } from './harness.ts'

let standin: UnityStandin | undefined
let relay: RelayProcess | undefined
let browser: Browser | undefined

before(async () => {
  standin = await startStandin()
  const vars = { UNITY_CLIENT_ID: POST_CLIENT.clientId, UNITY_CLIENT_SECRET: POST_CLIENT.clientSecret, UNITY_TOKEN_AUTH: POST_CLIENT.authMethod }
  await allStarted([startRelay({ port: RELAY_PORTS.post, standin, vars }).then((r) => (relay = r)), launchBrowser().then((b) => (browser = b))])
}, { timeout: 120_000 })

after(() => closeAll(() => browser?.close() ?? Promise.resolve(), relay?.stop, standin?.close))

test('1. happy path, client_secret_post: login, consent, success page, token pickup, introspection', { timeout: 60_000 }, async () => {
  assert.ok(standin && relay && browser, 'the harness started')
  await happyPath({ browser, standin, relayUrl: relay.url, client: POST_CLIENT })
})
