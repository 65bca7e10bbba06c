/**
 * @module
 * The few HTML pages a user's browser sees. hono/jsx escapes every value, and the only style is
 * an inline sheet allowed by the CSP nonce: no scripts and no third-party resources.
 */
import { raw } from 'hono/html'
import type { Child } from 'hono/jsx'

const STYLE = `
:root { color-scheme: light dark; --fg: #1c2430; --muted: #5b6675; --bg: #f4f6f9; --card: #fff; --on-mark: #fff; --ok: #1f7a4d; --warn: #a4500f; --bad: #b42318; --ask: #1d5fbf; --line: #d5dbe3; --tint: #fff6ea; }
@media (prefers-color-scheme: dark) { :root { --fg: #e8ecf1; --muted: #a3adba; --bg: #111418; --card: #1b2027; --on-mark: #111418; --ok: #4cc38a; --warn: #f0a860; --bad: #f97066; --ask: #7fb0ff; --line: #343c47; --tint: #2a2116; } }
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; padding: 24px;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Liberation Sans", "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
main { width: 100%; max-width: 440px; background: var(--card); border-radius: 14px; padding: 32px 28px;
  box-shadow: 0 1px 3px rgb(0 0 0 / .08), 0 8px 24px rgb(0 0 0 / .06); text-align: center; }
.mark { width: 56px; height: 56px; margin: 0 auto 16px; border-radius: 50%; display: grid; place-items: center;
  font-size: 28px; font-weight: 700; color: var(--on-mark); }
.ok .mark { background: var(--ok); } .warn .mark { background: var(--warn); } .bad .mark { background: var(--bad); } .ask .mark { background: var(--ask); } .info .mark { background: var(--ask); }
dl { text-align: left; margin: 16px 0 8px; } dt { font-weight: 600; } dt code { font-size: .85rem; color: var(--fg); } dd { margin: 0 0 10px; color: var(--muted); }
a { color: var(--ask); }
h1 { font-size: 1.35rem; margin: 0 0 8px; }
p { margin: 0 0 8px; color: var(--muted); }
code { font-size: .8rem; color: var(--muted); }
footer { margin-top: 20px; font-size: .75rem; color: var(--muted); }
strong { color: var(--fg); }
.user-code { margin: 12px 0 16px; padding: 12px 8px; border: 2px solid var(--line); border-radius: 10px; color: var(--fg);
  font: 700 clamp(1.6rem, 8vw, 2.4rem)/1.2 ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", "DejaVu Sans Mono", monospace; letter-spacing: .12em; }
.caution { margin: 0 0 16px; padding: 12px 14px; border-left: 4px solid var(--warn); border-radius: 6px; background: var(--tint); text-align: left; }
.caution p { margin: 0; color: var(--fg); }
.caution p + p { margin-top: 6px; }
.actions { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 20px; }
.actions button { flex: 1 1 140px; min-height: 48px; padding: 10px 16px; border-radius: 10px; font: inherit; font-weight: 600; cursor: pointer; }
.actions .primary { border: 0; background: var(--ask); color: var(--on-mark); }
.actions .secondary { border: 2px solid var(--line); background: transparent; color: var(--fg); }
.actions button:focus-visible { outline: 3px solid var(--ask); outline-offset: 2px; }
.entry { text-align: left; margin-top: 16px; }
.entry label { display: block; font-weight: 600; margin-bottom: 6px; }
.entry input { width: 100%; min-height: 52px; padding: 8px 12px; border: 2px solid var(--line); border-radius: 10px; background: transparent; color: var(--fg);
  font: 700 1.5rem/1.2 ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", "DejaVu Sans Mono", monospace; letter-spacing: .1em; text-transform: uppercase; }
.entry input:focus-visible { outline: 3px solid var(--ask); outline-offset: 2px; }
.entry .problem { color: var(--bad); font-weight: 600; }
`

/** The page's mood, shown by the mark's colour. */
export type Tone = 'ok' | 'warn' | 'bad' | 'ask' | 'info'

const MARKS: Record<Tone, string> = { ok: '✓', warn: '!', bad: '×', ask: '?', info: 'i' }

/** Props of {@link Layout}. */
export interface LayoutProps {
  readonly title: string
  readonly tone: Tone
  readonly nonce: string | undefined
  readonly children?: Child
}

/** The frame of every relay page: one card, the shared stylesheet, no scripts. */
export function Layout({ title, tone, nonce, children }: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{title}</title>
        {/* STYLE is a constant: raw keeps its quotes, which escaping would turn into invalid CSS. */}
        <style nonce={nonce}>{raw(STYLE)}</style>
      </head>
      <body>
        <main class={tone} role="main">
          <div class="mark" aria-hidden="true">{MARKS[tone]}</div>
          <h1>{title}</h1>
          {children}
          <footer>Unity sign-in relay</footer>
        </main>
      </body>
    </html>
  )
}

/** Shown after a successful callback when the app gave no `return_to`. */
export function DonePage({ device = false, nonce }: { readonly device?: boolean; readonly nonce?: string | undefined }) {
  return (
    <Layout title="You are signed in" tone="ok" nonce={nonce}>
      <p>{device ? 'Return to your device: it will finish signing in by itself. You can close this tab.' : 'You can close this tab and return to the app.'}</p>
    </Layout>
  )
}

/** Props of {@link ConfirmPage}. */
export interface ConfirmPageProps {
  /** `XXXX-XXXX`, from `userCodeFor`. */
  readonly userCode: string
  /** The Unity server's host, e.g. `unity.example.com:9443`. */
  readonly unityHost: string
  readonly scope: string
  /** The signed state the form posts back. */
  readonly state: string
  /** A device (RFC 8628) asked, not an app on this computer. */
  readonly device?: boolean
  readonly nonce?: string | undefined
}

/**
 * Asks the user to confirm a sign-in before the browser goes to Unity: without it, any web page
 * could start a flow with its own challenge and a signed-in user would finish it with no click.
 */
export function ConfirmPage({ userCode, unityHost, scope, state, device = false, nonce }: ConfirmPageProps) {
  const asker = device ? 'device' : 'app'
  return (
    <Layout title="Confirm this sign-in" tone="ask" nonce={nonce}>
      <p>{device ? 'A device' : 'An app'} asked to sign you in to Unity at <strong>{unityHost}</strong>.</p>
      <p>The {asker} should be showing this code:</p>
      <div class="user-code" role="status" aria-label={`Code ${userCode.split('').join(' ')}`}>{userCode}</div>
      <div class="caution" role="note">
        <p><strong>Only continue if you started signing in {device ? 'on a device' : 'from an app'} yourself, and that {asker} shows this code.</strong></p>
        <p>If a web page, an email or a message sent you here, cancel.</p>
      </div>
      <p>If you continue, the {asker} can {describeScope(scope)}.</p>
      <form method="post" action="/authorize">
        <input type="hidden" name="state" value={state} />
        <div class="actions">
          <button type="submit" name="decision" value="continue" class="primary">Continue</button>
          <button type="submit" name="decision" value="cancel" class="secondary">Cancel</button>
        </div>
      </form>
    </Layout>
  )
}

/** Shown after the user pressed Cancel on the confirmation page. */
export function CancelledPage({ device = false, nonce }: { readonly device?: boolean; readonly nonce?: string | undefined }) {
  return (
    <Layout title="Sign-in cancelled" tone="warn" nonce={nonce}>
      <p>Nothing was shared with the {device ? 'device' : 'app'}. You can close this tab.</p>
    </Layout>
  )
}

/** Props of {@link DeviceEntryPage}. */
export interface DeviceEntryPageProps {
  /** Shown above the field after a code that is unknown, expired or malformed (the same words for all). */
  readonly problem?: string | undefined
  readonly nonce?: string | undefined
}

/** RFC 8628 §3.3: where the user types the code their device shows. */
export function DeviceEntryPage({ problem, nonce }: DeviceEntryPageProps) {
  return (
    <Layout title="Sign in a device" tone="ask" nonce={nonce}>
      <p>Enter the code that your device shows.</p>
      <form method="get" action="/device" class="entry">
        {problem === undefined ? null : <p class="problem" role="alert">{problem}</p>}
        <label for="user_code">Code</label>
        <input id="user_code" name="user_code" type="text" required autofocus autocomplete="one-time-code" autocapitalize="characters" spellcheck={false} maxlength={32} placeholder="XXXX-XXXX" aria-invalid={problem === undefined ? undefined : 'true'} />
        <div class="actions">
          <button type="submit" class="primary">Next</button>
        </div>
      </form>
    </Layout>
  )
}

/** Scope in plain words; `api` is Unity's only documented scope. */
function describeScope(scope: string): string {
  const tokens = scope.split(' ')
  if (tokens.length === 1 && tokens[0] === 'api') return 'use Unity’s API as you (scope: api)'
  return `use Unity as you, with these permissions: ${tokens.join(', ')}`
}

/** Shown when Unity reports that the user refused, or any other authorization error. */
export function DeniedPage({ error, nonce }: { readonly error: string; readonly nonce?: string | undefined }) {
  const denied = error === 'access_denied'
  return (
    <Layout title={denied ? 'Sign-in was cancelled' : 'Unity did not sign you in'} tone="warn" nonce={nonce}>
      <p>{denied ? 'You did not allow access, so the app was not signed in.' : 'Unity refused the sign-in request.'}</p>
      <p>You can close this tab. The app has been told and can start again.</p>
      {denied ? null : <code>{error}</code>}
    </Layout>
  )
}

/** Props of {@link ErrorPage}. */
export interface ErrorPageProps {
  readonly title: string
  readonly message: string
  readonly code: string
  readonly nonce?: string | undefined
}

/** Shown for any error on a browser endpoint. */
export function ErrorPage({ title, message, code, nonce }: ErrorPageProps) {
  return (
    <Layout title={title} tone="bad" nonce={nonce}>
      <p>{message}</p>
      <code>{code}</code>
    </Layout>
  )
}
