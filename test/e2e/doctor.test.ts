/**
 * @module
 * `npm run doctor` as a process: against the Unity stand-in set up right and wrong (wrong secret,
 * wrong auth method, unregistered callback, wrong path, missing issuer), against a Spring-like
 * Unity (test/support/spring-unity.ts), and with `--remote` against a relay under `wrangler dev`.
 * Each asserts the exit code and the lines.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { startUnityStandin, UNITY_STANDIN_CLIENTS } from '../../dev/unity-standin.ts'
import type { UnityStandin } from '../../dev/unity-standin.ts'
import { startSpringUnity } from '../support/spring-unity.ts'
import { ROOT, startRelay } from './harness.ts'

const [BASIC] = UNITY_STANDIN_CLIENTS
const CALLBACK = 'http://127.0.0.1:8794/callback'
const SECRETS = {
  STATE_SECRET: 'doctor-test-state-secret-0123456789abcdef',
  REFRESH_SEAL_SECRET: 'doctor-test-refresh-seal-secret-0123456789abcdef',
}

let dir = ''
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'uor-doctor-'))
})
after(() => rm(dir, { recursive: true, force: true }))

/** What one doctor run printed, and its exit code. */
interface Run {
  readonly code: number | null
  readonly lines: string[]
  readonly stderr: string
  /** The line of check `name` (e.g. `client credentials`) as its mark and text, without the name. */
  line(name: string): string
}

let files = 0
async function doctor(settings: Record<string, string> | null, extra: readonly string[] = []): Promise<Run> {
  let args: string[] = [...extra]
  if (settings) {
    const file = join(dir, `settings-${files++}.vars`)
    await writeFile(file, Object.entries(settings).map(([name, value]) => `${name}="${value}"`).join('\n'))
    args = ['--env-file', file, ...extra]
  }
  // As npm runs it: `--` keeps Node from reading --env-file as its own.
  const child = spawn(process.execPath, [join(ROOT, 'scripts', 'doctor.ts'), '--', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  const lines = stdout.split('\n').filter((line) => /^[✓✗–] /.test(line))
  return {
    code,
    lines,
    stderr,
    line(name) {
      const found = lines.find((line) => line.slice(2).startsWith(`${name}:`))
      assert.ok(found, `no line for ${name} in:\n${stdout}${stderr}`)
      return `${found[0]} ${found.slice(name.length + 4)}`
    },
  }
}

function assertAllPass(run: Run, infos: readonly string[] = []): void {
  assert.equal(run.code, 0, run.lines.join('\n') + run.stderr)
  for (const line of run.lines) {
    const name = line.slice(2, line.indexOf(':'))
    assert.equal(line[0], infos.includes(name) ? '–' : '✓', line)
  }
}

describe('doctor against the Unity stand-in', () => {
  let standin: UnityStandin
  let good: Record<string, string>
  before(async () => {
    standin = await startUnityStandin({ port: 0 })
    good = { UNITY_URL: standin.url, UNITY_CLIENT_ID: BASIC.clientId, UNITY_CLIENT_SECRET: BASIC.clientSecret, UNITY_ISSUER: standin.issuer, REDIRECT_URI: CALLBACK, ...SECRETS }
  })
  after(() => standin.close())

  test('set up right: every check passes, exit 0', async () => {
    const run = await doctor(good)
    assertAllPass(run)
    assert.deepEqual(run.lines.map((line) => line.slice(2, line.indexOf(':'))), ['settings', 'token endpoint', 'client credentials', 'callback registered', 'PKCE', 'issuer', 'clock'])
    assert.match(run.line('token endpoint'), /400 invalid_grant$/)
  })

  test('a wrong secret: the credentials fail with both methods, exit 1', async () => {
    const run = await doctor({ ...good, UNITY_CLIENT_SECRET: 'not-the-secret-0123456789' })
    assert.equal(run.code, 1)
    assert.match(run.line('client credentials'), /^✗ .*refuses client relay-dev with both .* → fix: set UNITY_CLIENT_ID and UNITY_CLIENT_SECRET/)
    assert.match(run.line('token endpoint'), /^✓ /)
    assert.equal(run.lines.filter((line) => line.startsWith('✗')).length, 1)
  })

  test('the wrong auth method: the fix names UNITY_TOKEN_AUTH', async () => {
    const run = await doctor({ ...good, UNITY_TOKEN_AUTH: 'client_secret_post' })
    assert.equal(run.code, 1)
    assert.match(run.line('client credentials'), /^✗ .*accepts it with client_secret_basic → fix: set UNITY_TOKEN_AUTH=client_secret_basic$/)
  })

  test('an unregistered callback: the fix says to register it', async () => {
    const run = await doctor({ ...good, REDIRECT_URI: 'https://relay.example.com/callback' })
    assert.equal(run.code, 1)
    assert.match(run.line('callback registered'), /^✗ Unity refuses https:\/\/relay\.example\.com\/callback .* → fix: register https:\/\/relay\.example\.com\/callback as a redirect URI of client relay-dev/)
    assert.equal(run.lines.filter((line) => line.startsWith('✗')).length, 1)
  })

  test('a wrong path in UNITY_URL: the token endpoint fails and the fix names UNITY_URL', async () => {
    const run = await doctor({ ...good, UNITY_URL: `${standin.url}/vu/public` })
    assert.equal(run.code, 1)
    assert.match(run.line('token endpoint'), /^✗ .*answered 404 .* → fix: set UNITY_URL/)
    assert.match(run.line('client credentials'), /^✗ not checked/)
  })

  test('UNITY_ISSUER unset where Unity sends iss: recommended, with its value', async () => {
    const { UNITY_ISSUER: _unset, ...withoutIssuer } = good
    const run = await doctor(withoutIssuer)
    assert.equal(run.code, 1)
    assert.equal(run.line('issuer'), `✗ Unity sends iss (${standin.issuer}) but UNITY_ISSUER is not set → fix: set UNITY_ISSUER=${standin.issuer} (RFC 9207)`)
  })

  test('UNITY_PKCE=off where Unity supports S256: recommended', async () => {
    const run = await doctor({ ...good, UNITY_PKCE: 'off' })
    assert.equal(run.code, 1)
    assert.match(run.line('PKCE'), /^✗ .* → fix: set UNITY_PKCE=S256/)
  })

  test('settings that do not parse: one ✗ naming them, no other check, exit 1', async () => {
    const run = await doctor({ ...good, STATE_SECRET: 'short' })
    assert.equal(run.code, 1)
    assert.equal(run.lines.length, 1)
    assert.match(run.line('settings'), /^✗ .*STATE_SECRET must be at least 32 bytes/)
  })

  test('a settings file that does not exist: one line, no stack, exit 1', async () => {
    const run = await doctor(null, ['--env-file', join(dir, 'nope.vars')])
    assert.equal(run.code, 1)
    assert.match(run.stderr, /^Cannot read the settings file .*nope\.vars: there is no such file\./)
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr)
    assert.doesNotMatch(run.stderr, /ENOENT|at /)
  })
})

describe('doctor against a Spring-like Unity', () => {
  const client = { clientId: 'relay-prod', clientSecret: 'spring-secret-0123456789abcdef' }
  const settingsFor = (url: string, secret = client.clientSecret) => ({
    UNITY_URL: url,
    UNITY_CLIENT_ID: client.clientId,
    UNITY_CLIENT_SECRET: secret,
    UNITY_PKCE: 'off',
    REDIRECT_URI: CALLBACK,
    ...SECRETS,
  })

  test('set up right: passes, with nothing to check for PKCE and the issuer (no discovery), and only probes it sent', async () => {
    const spring = await startSpringUnity({ ...client, redirectUris: [CALLBACK] })
    try {
      const run = await doctor(settingsFor(spring.url))
      assertAllPass(run, ['PKCE', 'issuer'])
      assert.match(run.line('callback registered'), /^✓ Unity sends the browser to sign in \(302 → \/vu\/public\/login\)/)
      const tokenCalls = spring.seen.filter((line) => line === 'POST /vu/public/api/oauth/token')
      assert.equal(tokenCalls.length, 1, 'one token probe when the credentials pass')
      assert.equal(spring.seen.filter((line) => line.startsWith('POST')).length, 1, spring.seen.join('\n'))
    } finally {
      await spring.close()
    }
  })

  test('a wrong secret: Spring’s 401 unauthorized is a refusal with both methods', async () => {
    const spring = await startSpringUnity({ ...client, redirectUris: [CALLBACK] })
    try {
      const run = await doctor(settingsFor(spring.url, 'wrong-secret-0123456789'))
      assert.equal(run.code, 1)
      assert.match(run.line('token endpoint'), /^✓ .*401 unauthorized/)
      assert.match(run.line('client credentials'), /^✗ .*both client_secret_basic and client_secret_post \(401 unauthorized\)/)
    } finally {
      await spring.close()
    }
  })

  test('Spring’s "Invalid redirect" page for an unregistered callback is a refusal', async () => {
    const spring = await startSpringUnity({ ...client, redirectUris: ['https://other.example.com/callback'], checkRedirectFirst: true })
    try {
      const run = await doctor(settingsFor(spring.url))
      assert.equal(run.code, 1)
      assert.match(run.line('callback registered'), /^✗ Unity refuses http:\/\/127\.0\.0\.1:8794\/callback for client relay-prod \(400\)/)
    } finally {
      await spring.close()
    }
  })

  test('a Unity clock 5 minutes behind fails the clock check', async () => {
    const spring = await startSpringUnity({ ...client, redirectUris: [CALLBACK], clockOffsetSeconds: -300 })
    try {
      const run = await doctor(settingsFor(spring.url))
      assert.equal(run.code, 1)
      assert.match(run.line('clock'), /^✗ Unity's clock is 30\d s behind this machine's → fix: /)
    } finally {
      await spring.close()
    }
  })

  test('a wrong context root: the whitelabel 404 names UNITY_URL', async () => {
    const spring = await startSpringUnity({ ...client, redirectUris: [CALLBACK] })
    try {
      const run = await doctor(settingsFor(spring.url.replace('/vu/public', '/vu')))
      assert.equal(run.code, 1)
      assert.match(run.line('token endpoint'), /^✗ .*answered 404 with a page, not like an OAuth token endpoint → fix: set UNITY_URL/)
    } finally {
      await spring.close()
    }
  })
})

describe('doctor --remote against a relay under wrangler dev', () => {
  let standin: UnityStandin
  let relay: Awaited<ReturnType<typeof startRelay>>
  let settings: Record<string, string>
  before(async () => {
    standin = await startUnityStandin({ port: 0 })
    relay = await startRelay({ port: 8794, standin, vars: { REDIRECT_URI: CALLBACK } })
    settings = { UNITY_URL: standin.url, UNITY_CLIENT_ID: BASIC.clientId, UNITY_CLIENT_SECRET: BASIC.clientSecret, UNITY_ISSUER: standin.issuer, REDIRECT_URI: CALLBACK, ...SECRETS }
  })
  after(async () => {
    await relay?.stop()
    await standin?.close()
  })

  test('the deployed relay is healthy and publishes these settings: exit 0', async () => {
    const run = await doctor(settings, ['--remote'])
    assertAllPass(run)
    assert.match(run.line('deployed relay'), /^✓ http:\/\/127\.0\.0\.1:8794\/healthz answers ok/)
    assert.match(run.line('deployed settings'), /^✓ /)
  })

  test('settings that differ from the deployed relay’s: ✗ naming them', async () => {
    const run = await doctor({ ...settings, STATE_TTL_SECONDS: '900' }, ['--remote'])
    assert.equal(run.code, 1)
    assert.match(run.line('deployed settings'), /^✗ .*STATE_TTL_SECONDS is 600, here 900/)
  })
})
