/**
 * @module
 * `unity-login` as a user runs it: a real process against `wrangler dev` and the oidc-provider
 * stand-in, Chromium playing the user, the OS keyring a real Secret Service on a private D-Bus,
 * and every exit code.
 */
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { Browser } from 'playwright-core'
import { LoginError, refresh } from '../../src/client/index.ts'
import type { Session } from '../../src/client/index.ts'
import { EXIT } from '../../cli/exit-codes.ts'
import { buildCli, CLI_BIN, missing, runCli, startCli, startSecretService, startTmux } from './cli-process.ts'
import type { CliRun, SecretService } from './cli-process.ts'
import { ACCESS_TOKEN_TTL_SECONDS, assertActive, decide, heading, introspect, newContext, pressAfterReading, signIn } from './flow.ts'
import { ARTIFACTS_DIR, BASIC_CLIENT, ROOT, startAttackerSite, startRelay, useScenario } from './harness.ts'
import type { RelayProcess } from './harness.ts'

const TEST = { timeout: 90_000 } as const
/** A relay port of its own, among the stand-in's registered ones. */
const CLI_RELAY_PORT = 8789
const ESC = '\x1b'

/**
 * The relay the pickup and device tests use: with no redirect URI it could accept (no loopback, and
 * a blank APP_REDIRECT_URIS in place of dev.vars' Postman one), its metadata offers no code flow, so
 * `login` falls back to the pickup (issue #18).
 */
const setup = useScenario(CLI_RELAY_PORT, { LOOPBACK_REDIRECTS: 'off', APP_REDIRECT_URIS: ' ' })
/** A second relay with the standard sign-in for native apps (RFC 8252 loopback redirects, on by default). */
const LOOPBACK_RELAY_PORT = 8788
let loopbackRelay: RelayProcess | undefined

/** The loopback relay, started on first use next to the scenario's stand-in. */
async function startLoopbackRelay(): Promise<RelayProcess> {
  loopbackRelay ??= await startRelay({ port: LOOPBACK_RELAY_PORT, standin: setup().standin })
  return loopbackRelay
}
const noKeyring = missing('dbus-daemon', 'gnome-keyring-daemon', 'secret-tool')
let keyring: SecretService | undefined
let home = ''

before(
  async () => {
    buildCli()
    home = await mkdtemp(join(tmpdir(), 'uor-cli-'))
    if (!noKeyring) keyring = await startSecretService()
  },
  { timeout: 120_000 },
)
after(async () => {
  await loopbackRelay?.stop()
  await keyring?.stop()
  if (home) await rm(home, { recursive: true, force: true })
})

/** The environment of one user: a config directory and, when it has one, the keyring. */
function userEnv(name: string, withKeyring = true): Record<string, string> {
  return { XDG_CONFIG_HOME: join(home, name), HOME: join(home, name), ...(withKeyring && keyring ? keyring.env : {}) }
}

async function storedFile(name: string): Promise<Record<string, Session>> {
  return JSON.parse(await readFile(join(home, name, 'unity-login', 'sessions.json'), 'utf8')) as Record<string, Session>
}

/** What the CLI told the user: the code and the link. */
interface Prompt {
  readonly code: string
  readonly url: string
}

/** Reads the code and the link from what `run` printed. */
async function promptOf(run: Pick<CliRun, 'waitFor'>): Promise<Prompt> {
  const [, code = ''] = await run.waitFor(/code: ([A-Z]{4}-[A-Z]{4})/)
  const [, url = ''] = await run.waitFor(/^ {2}(http\S+)$/m)
  return { code, url }
}

/** The user's part in the browser: open the link, compare the code, Continue (or Cancel), sign in, Allow. */
async function playUser(browser: Browser, { code, url }: Prompt, decision: 'Continue' | 'Cancel' = 'Continue'): Promise<Prompt> {
  const { standin, relay } = setup()
  const context = await newContext(browser)
  try {
    const page = await context.newPage()
    await page.goto(url)
    await page.getByRole('heading', { name: 'Confirm this sign-in' }).waitFor()
    assert.equal((await page.locator('.user-code').innerText()).trim(), code, 'the relay shows the code the CLI printed')
    await pressAfterReading(page, page.getByRole('button', { name: decision }))
    if (decision === 'Continue') {
      await signIn(page, standin)
      await decide(page, relay.url, 'Allow')
      assert.equal(await heading(page), 'You are signed in')
    }
  } finally {
    await context.close()
  }
  return { code, url }
}

test('--help and usage errors: exit 0 with the exit-code table, 2 for an unknown command or option, through npx on the PATH node', TEST, async () => {
  const npx = execFileSync('npx', ['unity-login', '--help'], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: home } })
  assert.match(npx, /unity-login login --relay URL/)
  for (const code of Object.values(EXIT)) assert.match(npx, new RegExp(`^ {2}${code} {2}\\S`, 'm'), `--help documents exit ${code}`)
  for (const command of ['login', 'token', 'status', 'logout']) {
    const help = await runCli([command, '--help'], userEnv('help'))
    assert.equal(help.code, EXIT.ok)
    assert.match(help.stdout, new RegExp(`^unity-login ${command}`))
    assert.match(help.stdout, /Exit codes:/)
  }
  assert.equal((await runCli(['whoami'], userEnv('help'))).code, EXIT.usage)
  assert.equal((await runCli(['token', '--bogus'], userEnv('help'))).code, EXIT.usage)
  assert.equal((await runCli(['login'], userEnv('help'))).code, EXIT.usage, 'login needs --relay')
  assert.equal((await runCli(['login', '--relay', 'x', '--timeout', 'soon'], userEnv('help'))).code, EXIT.usage)
})

test('not logged in: token, status and logout exit 3 and say how to sign in', TEST, async () => {
  for (const command of ['token', 'status', 'logout']) {
    const result = await runCli([command, '--relay', setup().relay.url], userEnv('nobody'))
    assert.equal(result.code, EXIT.notLoggedIn, command)
    assert.equal(result.stdout, '')
    assert.match(result.stderr, /unity-login login --relay/)
  }
  assert.equal((await runCli(['token'], userEnv('nobody'))).code, EXIT.notLoggedIn, 'no relay known at all')
})

test('misconfigured and unavailable relays: exit 7 for plain http off loopback or a site that is no relay, 6 when nothing answers', TEST, async () => {
  const env = userEnv('wrong', false)
  const plain = await runCli(['login', '--relay', 'http://relay.example.com', '--insecure-storage', '--no-browser'], env)
  assert.equal(plain.code, EXIT.misconfigured)
  assert.match(plain.stderr, /https:\/\//)
  const site = await startAttackerSite({ '/': '<h1>Just a web site</h1>' })
  try {
    const notRelay = await runCli(['login', '--relay', site.origin, '--insecure-storage', '--no-browser'], env)
    assert.equal(notRelay.code, EXIT.misconfigured, notRelay.stderr)
    assert.match(notRelay.stderr, /does not serve a relay's metadata/)
  } finally {
    await site.close()
  }
  const nobody = await runCli(['login', '--relay', 'http://127.0.0.1:1', '--insecure-storage', '--no-browser'], env)
  assert.equal(nobody.code, EXIT.unavailable, nobody.stderr)
  assert.match(nobody.stderr, /Cannot reach the relay/)
})

test('no OS keyring: login exits 7 before the sign-in and says to use --insecure-storage; nothing is written', TEST, async () => {
  const result = await runCli(['login', '--relay', setup().relay.url, '--no-browser'], { ...userEnv('headless', false), DBUS_SESSION_BUS_ADDRESS: undefined })
  assert.equal(result.code, EXIT.misconfigured)
  assert.match(result.stderr, /No OS keyring is available/)
  assert.match(result.stderr, /--insecure-storage/)
  assert.doesNotMatch(result.stderr, /code:/, 'it stops before starting a sign-in')
  await assert.rejects(stat(join(home, 'headless', 'unity-login', 'sessions.json')), { code: 'ENOENT' })
})

test('login (pickup with the confirmation page) into the Secret Service, then status and token without a refresh', { ...TEST, skip: noKeyring }, async () => {
  const { browser, standin, relay } = setup()
  const env = userEnv('alice')
  const run = startCli(['login', '--relay', relay.url, '--no-browser'], env)
  await playUser(browser, await promptOf(run))
  assert.equal(await run.exited, EXIT.ok, run.stderr())
  assert.equal(run.stdout(), '', 'login prints nothing on stdout')
  assert.match(run.stderr(), /Signed in to http:\/\/127\.0\.0\.1:8789\. The tokens are in the OS keyring, the refresh token bound to a DPoP key kept beside it\.\n$/)
  assert.ok(!run.stderr().includes(ESC), 'no escape codes without a terminal')

  const entry = keyring?.lookup(relay.url) ?? ''
  assert.ok(entry, 'the Secret Service holds an entry for the relay')
  const session = JSON.parse(entry) as Session
  assert.equal(session.relay, relay.url)
  assert.equal(session.bound, true)
  assert.ok(session.dpopKey?.privateJwk.d, 'the DPoP key is kept beside the tokens')
  await assert.rejects(stat(join(home, 'alice', 'unity-login', 'sessions.json')), { code: 'ENOENT' }, 'no file without --insecure-storage')

  const shown = await runCli(['status'], env)
  assert.equal(shown.code, EXIT.ok)
  assert.match(shown.stdout, /^Relay: +http:\/\/127\.0\.0\.1:8789$/m)
  assert.match(shown.stdout, /^Refresh token: sealed by the relay, bound to this machine’s DPoP key/m)
  assert.match(shown.stdout, /^Stored in: +the OS keyring$/m)
  assert.ok(!shown.stdout.includes(session.accessToken) && !shown.stdout.includes(session.refreshToken ?? '-'), 'status never shows a token')

  const refreshesBefore = standin.tokenGrants.refresh_token ?? 0
  const printed = await runCli(['token'], env)
  assert.equal(printed.code, EXIT.ok)
  assert.equal(printed.stdout, `${session.accessToken}\n`, 'token prints the access token and nothing else')
  assert.equal(printed.stderr, '')
  assert.equal(standin.tokenGrants.refresh_token ?? 0, refreshesBefore, 'a token valid for 30 days is not refreshed')
  await assertActive(standin, BASIC_CLIENT, session.accessToken)

  const out = await runCli(['logout'], env)
  assert.equal(out.code, EXIT.ok, out.stderr)
  assert.equal(keyring?.lookup(relay.url), '', 'logout removes the keyring entry')
})

test('device login into a 0600 file; near expiry, 10 parallel `token` calls make one refresh; logout revokes at the relay', TEST, async () => {
  const { browser, standin, relay } = setup()
  const env = userEnv('bob', false)
  standin.setAccessTokenTtl(120)
  let session: Session
  try {
    const run = startCli(['login', '--relay', relay.url, '--device', '--no-browser', '--insecure-storage'], env)
    const { url } = await playUser(browser, await promptOf(run))
    assert.match(url, /\/device\?user_code=/)
    assert.match(run.stderr(), /Open http:\/\/127\.0\.0\.1:8789\/device on any device and enter it/)
    assert.equal(await run.exited, EXIT.ok, run.stderr())
    const file = join(home, 'bob', 'unity-login', 'sessions.json')
    assert.equal((await stat(file)).mode & 0o777, 0o600, 'the sessions file is 0600')
    assert.equal((await stat(join(home, 'bob', 'unity-login'))).mode & 0o777, 0o700, 'its directory is 0700')
    session = (await storedFile('bob'))[relay.url] as Session
    assert.ok(session.expiresAt && session.expiresAt - Date.now() < 121_000, 'the stand-in issued a 2-minute token')
  } finally {
    standin.setAccessTokenTtl(ACCESS_TOKEN_TTL_SECONDS)
  }

  const before = standin.tokenGrants.refresh_token ?? 0
  const calls = await Promise.all(Array.from({ length: 10 }, () => runCli(['token'], env)))
  assert.deepEqual(
    calls.map((c) => c.code),
    Array(10).fill(EXIT.ok),
    calls.map((c) => c.stderr).join('\n'),
  )
  assert.equal((standin.tokenGrants.refresh_token ?? 0) - before, 1, 'ten parallel calls refresh once')
  const tokens = new Set(calls.map((c) => c.stdout))
  assert.equal(tokens.size, 1, 'all ten print the same token')
  const renewed = (await storedFile('bob'))[relay.url] as Session
  assert.equal([...tokens][0], `${renewed.accessToken}\n`)
  assert.notEqual(renewed.accessToken, session.accessToken, 'the token was renewed')
  assert.notEqual(renewed.refreshToken, session.refreshToken, 'the relay rotated the sealed refresh token')
  await assertActive(standin, BASIC_CLIENT, renewed.accessToken)
  assert.equal((await runCli(['token'], env)).code, EXIT.ok)
  assert.equal((standin.tokenGrants.refresh_token ?? 0) - before, 1, 'the renewed 30-day token is not refreshed again')
  assert.match((await runCli(['status'], env)).stdout, /^Refreshed: /m)

  const out = await runCli(['logout'], env)
  assert.equal(out.code, EXIT.ok, out.stderr)
  assert.match(out.stderr, /The relay revoked the refresh token/)
  await assert.rejects(refresh(renewed), (error: unknown) => error instanceof LoginError && error.code === 'invalid_grant', 'the revoked grant refreshes no more, even with the key')
  await assert.rejects(stat(join(home, 'bob', 'unity-login', 'sessions.json')), { code: 'ENOENT' })
  assert.equal((await runCli(['token'], env)).code, EXIT.notLoggedIn)
  assert.equal((await introspect(standin, BASIC_CLIENT, renewed.accessToken)).active, true, 'Unity has no revocation: the access token lives on until it expires')
})

test('exit 3 when the relay no longer accepts the stored sign-in (a revoked grant) at a refresh', TEST, async () => {
  const { browser, standin, relay } = setup()
  const env = userEnv('carol', false)
  standin.setAccessTokenTtl(120)
  try {
    const run = startCli(['login', '--relay', relay.url, '--no-browser', '--insecure-storage'], env)
    await playUser(browser, await promptOf(run))
    assert.equal(await run.exited, EXIT.ok, run.stderr())
  } finally {
    standin.setAccessTokenTtl(ACCESS_TOKEN_TTL_SECONDS)
  }
  const session = (await storedFile('carol'))[relay.url] as Session
  const revoked = await fetch(`${relay.url}/revoke`, { method: 'POST', body: new URLSearchParams({ token: session.refreshToken ?? '' }) })
  assert.equal(revoked.status, 200)
  const result = await runCli(['token'], env)
  assert.equal(result.code, EXIT.notLoggedIn, result.stderr)
  assert.equal(result.stdout, '')
  assert.match(result.stderr, /no longer accepts this sign-in \(invalid_grant\)/)
})

test('exit 4 when the user presses Cancel on the relay page, 5 when the sign-in is not finished in time', TEST, async () => {
  const { browser, relay } = setup()
  const env = userEnv('dave', false)
  const cancelled = startCli(['login', '--relay', relay.url, '--no-browser', '--insecure-storage'], env)
  await playUser(browser, await promptOf(cancelled), 'Cancel')
  assert.equal(await cancelled.exited, EXIT.denied, cancelled.stderr())
  assert.match(cancelled.stderr(), /cancelled or refused \(400 access_denied\)/)

  const late = await runCli(['login', '--relay', relay.url, '--no-browser', '--insecure-storage', '--timeout', '3'], env)
  assert.equal(late.code, EXIT.expired, late.stderr)
  assert.match(late.stderr, /not finished in time/)
  await assert.rejects(stat(join(home, 'dave', 'unity-login', 'sessions.json')), { code: 'ENOENT' }, 'a failed login stores nothing')
})

test('--clipboard copies the code with the platform tool (a stand-in xclip on PATH)', TEST, async () => {
  const bin = await mkdtemp(join(tmpdir(), 'uor-clip-'))
  const copied = join(bin, 'copied')
  await writeFile(join(bin, 'xclip'), `#!/bin/sh\ncat > '${copied}'\n`)
  await chmod(join(bin, 'xclip'), 0o755)
  const run = startCli(['login', '--relay', setup().relay.url, '--no-browser', '--insecure-storage', '--clipboard', '--timeout', '2'], {
    ...userEnv('erin', false),
    PATH: `${bin}:${process.env.PATH ?? ''}`,
  })
  const [, code] = await run.waitFor(/code: ([A-Z]{4}-[A-Z]{4})/)
  await run.waitFor(/The code is on the clipboard\./)
  assert.equal(await readFile(copied, 'utf8'), code)
  assert.equal(await run.exited, EXIT.expired)
  await rm(bin, { recursive: true, force: true })
})

const noTmux = missing('tmux')

test('under tmux: the code, the link, a spinner counting down, then one final line; Ctrl-C cancels with exit 4', { ...TEST, skip: noTmux }, async () => {
  const { browser, relay } = setup()
  const env = { ...userEnv('tmux', false), PATH: process.env.PATH ?? '' }
  const login = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI_BIN)} login --relay ${relay.url} --no-browser --insecure-storage`
  const pane = startTmux(login, env)
  try {
    const first = await pane.waitFor(/Waiting for the sign-in in the browser… 1[12]:\d\d left/)
    await new Promise((resolve) => setTimeout(resolve, 2_100))
    const later = pane.screen()
    const left = (screen: string) => /(\d+):(\d\d) left/.exec(screen)?.slice(1).map(Number) ?? []
    const [m1 = 0, s1 = 0] = left(first)
    const [m2 = 0, s2 = 0] = left(later)
    assert.ok(m2 * 60 + s2 < m1 * 60 + s1, `the time left counts down (${m1}:${s1} then ${m2}:${s2})`)
    assert.match(later, /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Waiting for the sign-in/m, 'a spinner frame leads the line')
    assert.match(later, /^Your code: [A-Z]{4}-[A-Z]{4}$/m)
    await playUser(browser, await promptOf({ waitFor: async (pattern) => pattern.exec(await pane.waitFor(pattern)) as RegExpMatchArray }))
    const done = await pane.waitFor(/exit=0/)
    assert.match(done, /^✔ Signed in to http:\/\/127\.0\.0\.1:8789\. The tokens are in .*sessions\.json/m)
    assert.doesNotMatch(done, /Waiting for the sign-in/, 'the spinner line is replaced by the final line')
    await mkdir(ARTIFACTS_DIR, { recursive: true })
    await writeFile(join(ARTIFACTS_DIR, 'cli-login-tmux.txt'), `--- while waiting ---\n${later}\n--- at the end ---\n${done}`)
  } finally {
    pane.stop()
  }

  const cancelled = startTmux(login, env)
  try {
    await cancelled.waitFor(/Waiting for the sign-in/)
    cancelled.keys('C-c')
    const shown = await cancelled.waitFor(/exit=\d+/)
    assert.match(shown, /^✖ Cancelled\.$/m)
    assert.match(shown, /exit=4/)
  } finally {
    cancelled.stop()
  }

  const piped = startTmux(`${login} --timeout 2 2>&1 | od -c | grep -c 033`, env)
  try {
    const shown = await piped.waitFor(/exit=\d+/)
    assert.match(shown, /^0$/m, 'through a pipe, in the same terminal, no escape code is written')
  } finally {
    piped.stop()
  }
})

test('with a display, login opens the link in the system browser (open → xdg-open → $BROWSER); without one, or with --no-browser, it only prints it', TEST, async () => {
  const { browser, relay } = setup()
  const bin = await mkdtemp(join(tmpdir(), 'uor-browser-'))
  const opened = join(bin, 'opened')
  await writeFile(join(bin, 'browser'), `#!/bin/sh\nprintf '%s' "$1" > '${opened}'\n`)
  await chmod(join(bin, 'browser'), 0o755)
  // No desktop files: xdg-open's generic mode then hands the link to $BROWSER.
  const empty = join(bin, 'xdg')
  await mkdir(empty)
  const desktop = { DISPLAY: ':99', BROWSER: join(bin, 'browser'), XDG_DATA_DIRS: empty, XDG_DATA_HOME: empty, XDG_CONFIG_DIRS: empty }
  try {
    const headless = await runCli(['login', '--relay', relay.url, '--insecure-storage', '--timeout', '1'], userEnv('frank', false))
    assert.equal(headless.code, EXIT.expired, headless.stderr)
    assert.doesNotMatch(headless.stderr, /Opened the link|Could not open/, 'no display: the link is only printed')
    const told = await runCli(['login', '--relay', relay.url, '--insecure-storage', '--no-browser', '--timeout', '1'], { ...userEnv('frank', false), ...desktop })
    assert.equal(told.code, EXIT.expired, told.stderr)
    assert.doesNotMatch(told.stderr, /Opened the link/)
    await assert.rejects(stat(opened), { code: 'ENOENT' }, 'with --no-browser no browser is started, display or not')

    const run = startCli(['login', '--relay', relay.url, '--insecure-storage'], { ...userEnv('frank', false), ...desktop })
    await run.waitFor(/Opened the link in your browser\./)
    const [, printed] = await run.waitFor(/^ {2}(http\S+)$/m)
    for (let i = 0; i < 50 && !(await stat(opened).catch(() => undefined)); i++) await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(await readFile(opened, 'utf8'), printed, 'the browser got the link the CLI printed')
    await playUser(browser, await promptOf(run))
    assert.equal(await run.exited, EXIT.ok, run.stderr())
  } finally {
    await rm(bin, { recursive: true, force: true }).catch(() => {})
  }
})

/** The fenced block after `<!-- snippet: name -->` in docs/clients.md. */
async function docSnippet(name: string): Promise<string> {
  const docs = await readFile(join(ROOT, 'docs', 'clients.md'), 'utf8')
  const match = new RegExp(`<!-- snippet: ${name} -->\\n\`\`\`\\w+\\n([\\s\\S]*?)\\n\`\`\``).exec(docs)
  assert.ok(match?.[1], `docs/clients.md has the ${name} snippet`)
  return match[1]
}

const noRequests =
  missing('python3') ||
  (() => {
    try {
      execFileSync('/usr/bin/python3', ['-c', 'import requests'], { stdio: 'ignore' })
      return false
    } catch {
      if (process.env.CI) throw new Error('CI must install python3-requests')
      return 'needs python3-requests: apt-get install -y python3-requests'
    }
  })()

test('docs/clients.md\u2019s Python snippet (requests, the device grant) signs in and prints a token the stand-in accepts', { ...TEST, skip: noRequests }, async () => {
  const { browser, standin, relay } = setup()
  const dir = await mkdtemp(join(tmpdir(), 'uor-python-'))
  const script = join(dir, 'device.py')
  await writeFile(script, await docSnippet('python-device'))
  const child = spawn('/usr/bin/python3', [script, relay.url], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  try {
    const deadline = Date.now() + 15_000
    while (!/or open (\S+)\n/.test(err) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
    const [, code = ''] = /enter ([A-Z]{4}-[A-Z]{4})/.exec(err) ?? []
    const [, url = ''] = /or open (\S+)\n/.exec(err) ?? []
    await playUser(browser, { code, url })
    assert.equal(await exited, 0, err)
    const token = out.trim()
    assert.ok(token.length > 20, `the snippet printed a token, not ${JSON.stringify(out)}`)
    await assertActive(standin, BASIC_CLIENT, token)
  } finally {
    child.kill()
    await rm(dir, { recursive: true, force: true })
  }
})

/** Whether the relay's metadata offers the standard sign-in for native apps (issue #18). */
async function offersLoopback(relayUrl: string): Promise<boolean> {
  const metadata = (await (await fetch(`${relayUrl}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>
  return typeof metadata.authorization_endpoint === 'string'
}

/** The user's part of a loopback sign-in: the relay's page (no code to compare), then Unity, then the CLI's own page. */
async function playLoopbackUser(browser: Browser, relayUrl: string, url: string, decision: 'Continue' | 'Cancel'): Promise<string> {
  const { standin } = setup()
  const context = await newContext(browser)
  try {
    const page = await context.newPage()
    await page.goto(url)
    await page.getByRole('heading', { name: 'Confirm this sign-in' }).waitFor()
    assert.equal(await page.locator('.user-code').count(), 0, 'a loopback sign-in has no code to compare')
    await pressAfterReading(page, page.getByRole('button', { name: decision }))
    if (decision === 'Continue') {
      await signIn(page, standin)
      await decide(page, relayUrl, 'Allow')
    }
    await page.waitForURL((landed) => landed.hostname === '127.0.0.1' && landed.pathname.startsWith('/callback/'))
    return await heading(page)
  } finally {
    await context.close()
  }
}

test('login by default uses the relay\u2019s sign-in for native apps (RFC 8252): a loopback redirect to the CLI, DPoP-bound; then token and a refresh', TEST, async (t) => {
  const relay = await startLoopbackRelay()
  if (!(await offersLoopback(relay.url))) return t.skip('this relay does not offer the standard sign-in yet (issue #18)')
  const { browser, standin } = setup()
  const env = userEnv('grace', false)
  standin.setAccessTokenTtl(120)
  let session: Session
  try {
    const run = startCli(['login', '--relay', relay.url, '--no-browser', '--insecure-storage'], env)
    const [, url = ''] = await run.waitFor(/^ {2}(http\S+)$/m)
    assert.match(run.stderr(), /^Open this link to sign in:$/m)
    assert.doesNotMatch(run.stderr(), /code:/, 'no code to compare')
    const authorize = new URL(url)
    assert.equal(`${authorize.origin}${authorize.pathname}`, `${relay.url}/authorize`)
    assert.equal(authorize.searchParams.get('response_type'), 'code')
    assert.match(authorize.searchParams.get('redirect_uri') ?? '', /^http:\/\/127\.0\.0\.1:\d+\/callback\/[0-9a-f]{16}$/)
    assert.equal(await playLoopbackUser(browser, relay.url, url, 'Continue'), 'You are signed in', 'the CLI\u2019s own page')
    assert.equal(await run.exited, EXIT.ok, run.stderr())
    session = (await storedFile('grace'))[relay.url] as Session
    assert.equal(session.bound, true)
  } finally {
    standin.setAccessTokenTtl(ACCESS_TOKEN_TTL_SECONDS)
  }
  await assertActive(standin, BASIC_CLIENT, session.accessToken)
  const before = standin.tokenGrants.refresh_token ?? 0
  const printed = await runCli(['token'], env)
  assert.equal(printed.code, EXIT.ok, printed.stderr)
  assert.equal((standin.tokenGrants.refresh_token ?? 0) - before, 1, 'the 2-minute token was refreshed once')
  await assertActive(standin, BASIC_CLIENT, printed.stdout.trim())
})

test('a loopback login cancelled on the relay\u2019s page exits 4; requests to the CLI\u2019s port with another state or path are refused and change nothing', TEST, async (t) => {
  const relay = await startLoopbackRelay()
  if (!(await offersLoopback(relay.url))) return t.skip('this relay does not offer the standard sign-in yet (issue #18)')
  const run = startCli(['login', '--relay', relay.url, '--no-browser', '--insecure-storage'], userEnv('heidi', false))
  const [, url = ''] = await run.waitFor(/^ {2}(http\S+)$/m)
  const redirectUri = new URL(url).searchParams.get('redirect_uri') ?? ''
  const forged = await fetch(`${redirectUri}?code=attacker&state=forged&iss=${encodeURIComponent(relay.url)}`)
  assert.equal(forged.status, 400, 'a guessed redirect is refused')
  const elsewhere = await fetch(`${new URL(redirectUri).origin}/callback?code=attacker&state=${new URL(url).searchParams.get('state')}`)
  assert.equal(elsewhere.status, 400, 'only the random path is the redirect URI')
  assert.equal(await playLoopbackUser(setup().browser, relay.url, url, 'Cancel'), 'Sign-in not completed', 'the CLI\u2019s page says so')
  assert.equal(await run.exited, EXIT.denied, run.stderr())
  assert.match(run.stderr(), /cancelled or refused \(400 access_denied\)/)
})
