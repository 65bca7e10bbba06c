/**
 * @module
 * The four commands: `login`, `token`, `status` and `logout`, on top of `unity-oauth-relay/client`.
 */
import { expiresWithin, LoginError, refresh, relayOrigin, revoke, startLogin, DEFAULT_GRANT_SECONDS } from '../src/client/index.ts'
import type { Login, LoginErrorCode, Session } from '../src/client/index.ts'
import { canOpenBrowser, copyToClipboard, openBrowser } from './browser.ts'
import { CliError, EXIT } from './exit-codes.ts'
import type { ExitCode } from './exit-codes.ts'
import { withLock } from './lock.ts'
import { openLoopbackReceiver } from './loopback.ts'
import type { OpenReceiver } from './loopback.ts'
import { findSession, requireSession, storeFor } from './sessions.ts'
import type { Context } from './sessions.ts'
import { fileStore, keyringStore, readSettings, writeSettings, SESSIONS_FILE } from './storage.ts'
import { progress, timeLeft } from './terminal.ts'
import { join } from 'node:path'

/** `token` refreshes when the access token ends within this margin. */
export const REFRESH_MARGIN_MS = 5 * 60_000

/** Options of `login`. */
export interface LoginFlags {
  readonly relay: string
  readonly scope: string | undefined
  readonly device: boolean
  readonly noBrowser: boolean
  readonly clipboard: boolean
  readonly insecureStorage: boolean
  /** Give up after this many seconds; default the relay's limit (720 s, or the device code's `expires_in`). */
  readonly timeoutSeconds: number | undefined
}

const LOGIN_EXIT: Readonly<Record<LoginErrorCode, ExitCode>> = {
  access_denied: EXIT.denied,
  aborted: EXIT.denied,
  invalid_grant: EXIT.denied,
  expired: EXIT.expired,
  unavailable: EXIT.unavailable,
  misconfigured: EXIT.misconfigured,
}

/** A {@link LoginError} as the CLI reports it; at `token`, `invalid_grant` means "sign in again". */
export function cliErrorOf(error: LoginError, relay: string, during: 'login' | 'refresh'): CliError {
  if (during === 'refresh' && error.code === 'invalid_grant') {
    return new CliError(EXIT.notLoggedIn, `The relay no longer accepts this sign-in (${error.oauthError ?? error.code}). Run: unity-login login --relay ${relay}`)
  }
  const hints: Partial<Record<LoginErrorCode, string>> = {
    access_denied: 'Run unity-login login again to retry.',
    aborted: '',
    invalid_grant: 'Run unity-login login again.',
    expired: 'Run unity-login login again and finish the sign-in within the time shown.',
    unavailable: 'Check the relay address and your connection, then try again.',
  }
  const answer = error.oauthError ? ` (${[error.status, error.oauthError].filter((part) => part !== undefined).join(' ')})` : ''
  const hint = hints[error.code] ? ` ${hints[error.code]}` : ''
  return new CliError(LOGIN_EXIT[error.code], `${error.message.replace(/\.$/, '')}${answer}.${hint}`)
}

/** `unity-login login`. */
export async function login(ctx: Context, flags: LoginFlags): Promise<void> {
  const relay = relayOrigin(flags.relay)
  const store = await storeFor(ctx, flags.insecureStorage)
  // Fail before the user signs in, not after: a keyring that cannot be read cannot be written.
  await store.load(relay)
  const show = progress(ctx.stderr)
  let receiver: OpenReceiver | undefined
  const controller = new AbortController()
  const cancel = () => controller.abort(new Error('interrupted'))
  process.once('SIGINT', cancel)
  process.once('SIGTERM', cancel)
  try {
    if (!flags.device) receiver = await openLoopbackReceiver()
    const started = await startLogin({
      relay,
      mode: flags.device ? 'device' : 'auto',
      ...(flags.scope ? { scope: flags.scope } : {}),
      ...(receiver ? { loopback: receiver } : {}),
      ...(flags.timeoutSeconds ? { timeoutSeconds: flags.timeoutSeconds } : {}),
    })
    if (started.mode !== 'loopback') await receiver?.close()
    await tellUser(ctx, show, started, flags)
    show.wait((now) => `Waiting for the sign-in in the browser… ${timeLeft(started.expiresAt, now)} left`)
    let session: Session
    try {
      session = await started.tokens(controller.signal)
    } catch (error) {
      show.done(false, error instanceof LoginError && error.code === 'aborted' ? 'Cancelled.' : 'The sign-in did not finish.')
      throw error
    }
    await store.save(session)
    // One place per relay: a login into the keyring forgets an older file entry, and the other way round.
    await forgetElsewhere(ctx, relay, flags.insecureStorage)
    await writeSettings(ctx.dir, { relay })
    const binding = session.bound ? ', the refresh token bound to a DPoP key kept beside it' : ''
    show.done(true, `Signed in to ${relay}. The tokens are in ${store.where}${binding}.`)
  } catch (error) {
    throw error instanceof LoginError ? cliErrorOf(error, relay, 'login') : error
  } finally {
    process.off('SIGINT', cancel)
    process.off('SIGTERM', cancel)
    await receiver?.close()
  }
}

async function forgetElsewhere(ctx: Context, relay: string, inFile: boolean): Promise<void> {
  try {
    const other = inFile ? keyringStore(await ctx.keyring(), join(ctx.dir, SESSIONS_FILE)) : fileStore(ctx.dir)
    await other.remove(relay)
  } catch {
    // No keyring here: nothing can be stored in it either.
  }
}

async function tellUser(ctx: Context, show: ReturnType<typeof progress>, started: Login, flags: LoginFlags): Promise<void> {
  if (started.mode === 'device') {
    show.line(`Your one-time code: ${started.userCode}`)
    show.line(`Open ${started.verificationUri} on any device and enter it, or open this link, which fills it in:\n\n  ${started.url}\n`)
  } else if (started.mode === 'pickup') {
    show.line(`Your code: ${started.userCode}`)
    show.line(`Open this link, check that the relay's page shows the same code, then press Continue:\n\n  ${started.url}\n`)
  } else {
    show.line(`Open this link to sign in:\n\n  ${started.url}\n`)
  }
  if (flags.clipboard && started.userCode) {
    show.line((await copyToClipboard(started.userCode)) ? 'The code is on the clipboard.' : 'No clipboard tool found (pbcopy, clip, wl-copy, xclip or xsel): type the code.')
  }
  if (!flags.noBrowser && canOpenBrowser(ctx.env)) {
    if (await openBrowser(started.url)) show.line('Opened the link in your browser.')
    else show.line('Could not open a browser: open the link yourself.')
  }
}

/** The relay a command without `--relay` means: `UNITY_LOGIN_RELAY`, else the last one signed in to. */
export async function defaultRelay(ctx: Context, given: string | undefined): Promise<string> {
  const relay = given ?? ctx.env.UNITY_LOGIN_RELAY ?? (await readSettings(ctx.dir)).relay
  if (!relay) throw new CliError(EXIT.notLoggedIn, 'Not logged in. Run: unity-login login --relay URL')
  return relayOrigin(relay)
}

/**
 * `unity-login token`: prints a valid access token and nothing else. A token that ends within
 * {@link REFRESH_MARGIN_MS} is refreshed under the relay's lock, so parallel calls refresh once.
 */
export async function token(ctx: Context, relayFlag: string | undefined): Promise<void> {
  const relay = await defaultRelay(ctx, relayFlag)
  const first = await requireSession(ctx, relay)
  let session = first.session
  if (expiresWithin(session, REFRESH_MARGIN_MS)) {
    session = await withLock(ctx.dir, relay, async () => {
      const now = await findSession(ctx, relay)
      if (!now) throw new CliError(EXIT.notLoggedIn, `Not logged in to ${relay} any more. Run: unity-login login --relay ${relay}`)
      // Another call refreshed while this one waited for the lock: its tokens are the newest.
      if (now.session.refreshToken !== session.refreshToken && !expiresWithin(now.session, 0)) return now.session
      if (!expiresWithin(now.session, REFRESH_MARGIN_MS)) return now.session
      try {
        const next = await refresh(now.session)
        await now.store.save(next)
        return next
      } catch (error) {
        if (!(error instanceof LoginError)) throw error
        // The current token still works for a while: better than failing the script.
        if (error.code === 'unavailable' && !expiresWithin(now.session, 0)) {
          ctx.stderr.write(`unity-login: could not refresh (${error.message}); the current token is still valid for ${timeLeft(now.session.expiresAt ?? 0, Date.now())}.\n`)
          return now.session
        }
        throw cliErrorOf(error, relay, 'refresh')
      }
    })
  }
  if (expiresWithin(session, 0)) throw new CliError(EXIT.notLoggedIn, `The access token for ${relay} has expired and cannot be refreshed. Run: unity-login login --relay ${relay}`)
  ctx.stdout.write(`${session.accessToken}\n`)
}

/** `unity-login status`: what is stored for the relay, never a token. */
export async function status(ctx: Context, relayFlag: string | undefined): Promise<void> {
  const relay = await defaultRelay(ctx, relayFlag)
  const { session, store } = await requireSession(ctx, relay)
  const now = Date.now()
  const at = (ms: number) =>
    `${new Date(ms)
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, ' UTC')}`
  const expires =
    session.expiresAt === undefined
      ? 'no expiry given'
      : session.expiresAt > now
        ? `valid until ${at(session.expiresAt)} (${timeLeft(session.expiresAt, now)} left)`
        : `expired at ${at(session.expiresAt)}`
  const refreshLine = !session.refreshToken
    ? 'none (sign in again when the access token ends)'
    : session.bound
      ? 'sealed by the relay, bound to this machine’s DPoP key (ES256)'
      : session.dpopKey
        ? 'not bound (the relay does not seal refresh tokens)'
        : 'not bound'
  const lines = [
    `Relay:         ${relay}`,
    `Signed in:     ${at(session.signedInAt)}`,
    ...(session.refreshedAt ? [`Refreshed:     ${at(session.refreshedAt)}`] : []),
    `Scope:         ${session.scope ?? '(the relay’s default)'}`,
    `Access token:  ${expires}`,
    `Refresh token: ${refreshLine}`,
    ...(session.refreshToken
      ? [`Refresh grant: ends by ${at(session.signedInAt + DEFAULT_GRANT_SECONDS * 1000)} at the latest (the relay’s REFRESH_GRANT_TTL_SECONDS, 90 days by default; it may end sooner)`]
      : []),
    `Stored in:     ${store.where}`,
  ]
  ctx.stdout.write(`${lines.join('\n')}\n`)
}

/** `unity-login logout`: revokes at the relay's `revocation_endpoint`, then forgets the session. */
export async function logout(ctx: Context, relayFlag: string | undefined, local: boolean): Promise<void> {
  const relay = await defaultRelay(ctx, relayFlag)
  const { session, store } = await requireSession(ctx, relay)
  let revoked = false
  if (!local) {
    try {
      revoked = await revoke(session)
    } catch (error) {
      if (!(error instanceof LoginError)) throw error
      const reported = cliErrorOf(error, relay, 'login')
      throw new CliError(reported.exitCode, `${reported.message}\nThe tokens are still stored, so that the revocation can be retried; \`unity-login logout --local\` forgets them without revoking.`)
    }
  }
  await store.remove(relay)
  const settings = await readSettings(ctx.dir)
  if (settings.relay === relay) await writeSettings(ctx.dir, {})
  const note = revoked ? 'The relay revoked the refresh token.' : local ? 'Nothing was revoked at the relay (--local).' : 'The relay offers no revocation; its refresh token was only forgotten here.'
  ctx.stderr.write(`Logged out of ${relay}. ${note} The access token stays valid at Unity until it expires.\n`)
}
