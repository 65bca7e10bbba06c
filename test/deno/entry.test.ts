/**
 * The Deno entry: a misconfiguration is a 500 on every route naming the setting, as on Workers,
 * and no KV is opened for it.
 */
import { strict as assert } from 'node:assert'
import { buildDenoRelay } from '../../src/deno.ts'
import { TEST_ENV } from '../contract/harness.ts'

const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'

Deno.test('Deno entry: every route answers 500 naming the bad settings, never a value', async () => {
  const env: Record<string, string> = { ...TEST_ENV, STATE_SECRET: 'too-short-secret-value', DENO_KV_PATH: '/nonexistent/relay.kv' }
  delete env.UNITY_URL
  // Opening this KV would throw, so the relay is built without touching it.
  const relay = await buildDenoRelay(env)
  for (const path of ['/healthz', '/token', '/nowhere']) {
    const response = await relay.request(`https://relay.example.com${path}`)
    const body = await response.json()
    assert.equal(response.status, 500, path)
    assert.equal(body.error, 'server_error')
    assert.match(body.error_description, /UNITY_URL is missing/)
    assert.match(body.error_description, /STATE_SECRET must be at least 32 bytes/)
    assert.equal(body.error_description.includes('too-short-secret-value'), false)
  }
  const page = await relay.request(`https://relay.example.com/authorize?code_challenge=${CHALLENGE}&code_challenge_method=S256`)
  assert.equal(page.status, 500)
  assert.match(await page.text(), /UNITY_URL/)
})

Deno.test('Deno entry: CODE_STORE=durable-object is named as a Workers-only store', async () => {
  const relay = await buildDenoRelay({ ...TEST_ENV, CODE_STORE: 'durable-object', DENO_KV_PATH: '/nonexistent/relay.kv' })
  const response = await relay.request('https://relay.example.com/healthz')
  assert.equal(response.status, 500)
  assert.match((await response.json()).error_description, /CODE_STORE durable-object needs Cloudflare Workers/)
})

Deno.test('Deno entry: a port in use is named, with how to free it or choose another', async () => {
  const taken = Deno.listen({ hostname: '127.0.0.1', port: 0 })
  try {
    const { port } = taken.addr
    const env = { ...TEST_ENV, PORT: String(port), HOST: '127.0.0.1', DENO_KV_PATH: ':memory:' }
    const deno = new URL('../../node_modules/.bin/deno', import.meta.url)
    const entry = new URL('../../src/deno.ts', import.meta.url)
    const output = await new Deno.Command(deno, { args: ['run', '--allow-net=127.0.0.1', '--allow-env', entry.pathname], env, stdout: 'piped', stderr: 'piped' }).output()
    const stderr = new TextDecoder().decode(output.stderr)
    assert.equal(output.code, 1, stderr)
    assert.match(stderr, new RegExp(`^Port ${port} on 127\\.0\\.0\\.1 is already in use.*lsof -i :${port}.*PORT=<port>`, 'm'))
    assert.equal(stderr.includes('AddrInUse'), false, 'no raw stack')
  } finally {
    taken.close()
  }
})
