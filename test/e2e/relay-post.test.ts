/**
 * @module
 * Scenario 1 again with the other client authentication method: the relay runs as
 * `relay-dev-post` with `UNITY_TOKEN_AUTH=client_secret_post`.
 */
import { test } from 'node:test'
import { happyPath } from './flow.ts'
import { POST_CLIENT, RELAY_PORTS, useScenario } from './harness.ts'

const scenario = useScenario(RELAY_PORTS.post, {
  UNITY_CLIENT_ID: POST_CLIENT.clientId,
  UNITY_CLIENT_SECRET: POST_CLIENT.clientSecret,
  UNITY_TOKEN_AUTH: POST_CLIENT.authMethod,
})

test('1. happy path, client_secret_post: login, consent, success page, token pickup, introspection', { timeout: 60_000 }, async () => {
  const { standin, relay, browser } = scenario()
  await happyPath({ browser, standin, relayUrl: relay.url, client: POST_CLIENT })
})
