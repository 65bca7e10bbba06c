/**
 * Smoke test: `deno task start` as a real process on loopback completes a login against the local
 * Unity stand-in (oidc-provider under Node), then refreshes the tokens through the relay.
 */
import { strict as assert } from 'node:assert'
import { pollForTokens, startLogin } from '../../dev/app.ts'
import { headlessLogin } from '../support/headless-login.ts'

const ROOT = new URL('../../', import.meta.url)
const NODE = new URL('node_modules/.bin/node', ROOT)
const DENO = new URL('node_modules/.bin/deno', ROOT)
/** Everything, processes included, is torn down after this long. */
const DEADLINE_MS = 30_000

/** A child process whose output is kept for the failure message. */
interface Started {
  readonly process: Deno.ChildProcess
  readonly output: () => string
  /** Resolves once the output contains `text`. */
  readonly printed: (text: string) => Promise<void>
  /** Resolves when the process exits and its output is drained. */
  readonly done: Promise<unknown>
}

function start(command: string | URL, args: string[], env: Record<string, string>): Started {
  const child = new Deno.Command(command, { args, env, cwd: ROOT, stdin: 'null', stdout: 'piped', stderr: 'piped' }).spawn()
  let output = ''
  const waiters: Array<{ text: string; resolve: () => void }> = []
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      output += chunk
      for (const waiter of waiters) if (output.includes(waiter.text)) waiter.resolve()
    }
  }
  const done = Promise.all([drain(child.stdout), drain(child.stderr), child.status])
  return {
    process: child,
    output: () => output,
    printed: (text) => new Promise((resolve, reject) => {
      waiters.push({ text, resolve })
      done.then(() => reject(new Error(`exited before printing ${text}:\n${output}`)))
    }),
    done,
  }
}

function freeLoopbackPort(): number {
  const listener = Deno.listen({ hostname: '127.0.0.1', port: 0 })
  const { port } = listener.addr
  listener.close()
  return port
}

async function waitForHealthz(url: string, relay: Started): Promise<void> {
  for (;;) {
    const exited = await Promise.race([relay.done.then(() => true), new Promise((resolve) => setTimeout(resolve, 100, false))])
    if (exited) throw new Error(`the relay exited:\n${relay.output()}`)
    const ok = await fetch(`${url}/healthz`).then((response) => response.body?.cancel().then(() => response.ok), () => false)
    if (ok) return
  }
}

Deno.test('deno task start serves a whole login against the Unity stand-in', async () => {
  const relayPort = freeLoopbackPort()
  const relayUrl = `http://127.0.0.1:${relayPort}`
  const started: Started[] = []
  const stopAll = () => {
    for (const child of started) {
      try {
        child.process.kill('SIGTERM')
      } catch {
        // Already exited.
      }
    }
  }
  const deadline = setTimeout(stopAll, DEADLINE_MS)
  try {
    const unityPort = freeLoopbackPort()
    const unityUrl = `http://127.0.0.1:${unityPort}`
    const unity = start(NODE, ['dev/unity-standin.ts'], { UNITY_STANDIN_PORT: String(unityPort), UNITY_STANDIN_REDIRECT_URIS: `${relayUrl}/callback` })
    started.push(unity)
    await unity.printed(` on ${unityUrl}`)

    const relay = start(DENO, ['task', 'start'], {
      PORT: String(relayPort),
      HOST: '127.0.0.1',
      DENO_KV_PATH: ':memory:',
      UNITY_URL: unityUrl,
      UNITY_ISSUER: unityUrl,
      UNITY_CLIENT_ID: 'relay-dev',
      UNITY_CLIENT_SECRET: 'dev-only-secret-basic-0123456789abcdef',
      STATE_SECRET: 'dev-only-state-secret-for-the-deno-smoke-test-0123456789',
      REFRESH_SEAL_SECRET: 'dev-only-refresh-seal-secret-for-the-deno-smoke-test-0123',
    })
    started.push(relay)
    await waitForHealthz(relayUrl, relay)

    const login = await startLogin({ relay: relayUrl })
    const page = await headlessLogin(login.authorizeUrl)
    assert.equal(page.finalUrl.startsWith(`${relayUrl}/callback?`), true, page.visited.join(' -> '))
    assert.equal(page.status, 200, page.body)
    assert.match(page.body, /You are signed in/)

    const result = await pollForTokens(relayUrl, login.verifier, { intervalMs: 200, timeoutMs: 5_000 })
    assert.ok(result.ok, JSON.stringify(result))
    const { tokens } = result
    assert.equal(tokens.token_type, 'Bearer')
    assert.equal(tokens.scope, 'api')
    assert.equal(tokens.expires_in, 2592000)
    assert.equal(typeof tokens.access_token, 'string')
    assert.equal(typeof tokens.refresh_token, 'string')

    const again = await pollForTokens(relayUrl, login.verifier, { intervalMs: 200, timeoutMs: 0 })
    assert.equal(again.ok ? 'tokens' : again.error, 'invalid_grant', 'the code is picked up once')

    const refreshed = await fetch(`${relayUrl}/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token) }),
    })
    const renewed = await refreshed.json()
    assert.equal(refreshed.status, 200, JSON.stringify(renewed))
    assert.equal(renewed.token_type, 'Bearer')
    assert.notEqual(renewed.access_token, tokens.access_token)
    assert.equal(typeof renewed.refresh_token, 'string')
  } catch (error) {
    for (const child of started) console.error(child.output())
    throw error
  } finally {
    clearTimeout(deadline)
    stopAll()
    await Promise.all(started.map((child) => child.done))
  }
})
