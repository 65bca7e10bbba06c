/**
 * @module
 * The few HTML pages a user's browser sees, as `hono/html` templates: every interpolated value is
 * escaped, and only constants of this module pass through `raw`. The only style is an inline
 * sheet allowed by the CSP nonce: no scripts and no third-party resources.
 */
import { html as honoHtml, raw } from 'hono/html'

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

/** Markup whose every value has been escaped (or is a constant of this module). */
export type Html = ReturnType<typeof raw>

/** A value a template may hold: text is escaped, {@link Html} is kept, null and undefined are left out. */
export type Value = string | number | Html | null | undefined

/**
 * `html` restricted to values that are never promises, so a page is built synchronously and in
 * one pass; escaping stays hono/html's. A `\` at the end of a template's line joins it to the next
 * with no newline, so the markup reads in lines and the page stays one line.
 */
export const html = honoHtml as (strings: TemplateStringsArray, ...values: readonly Value[]) => Html

// STYLE is a constant: raw keeps its quotes, which escaping would turn into invalid CSS.
const SHEET = raw(`${STYLE}</style>`)
const SHEET_WITHOUT_NONCE = raw(`<style>${STYLE}</style>`)

/** The frame of every relay page, as a finished standards-mode document: one card, the shared stylesheet, no scripts. */
export function layout(title: string, tone: Tone, nonce: string | undefined, content: Html): string {
  const style = nonce === undefined ? SHEET_WITHOUT_NONCE : html`<style nonce="${nonce}">${SHEET}`
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"/>\
<meta name="viewport" content="width=device-width, initial-scale=1"/><meta name="robots" content="noindex"/>\
<title>${title}</title>${style}</head>\
<body><main class="${tone}" role="main"><div class="mark" aria-hidden="true">${MARKS[tone]}</div><h1>${title}</h1>\
${content}<footer>Unity sign-in relay</footer></main></body></html>`.toString()
}

/** Options every page takes: the CSP nonce that allows its stylesheet. */
interface PageOptions {
  readonly nonce?: string | undefined
}

const DONE_APP = html`<p>You can close this tab and return to the app.</p>`
const DONE_DEVICE = html`<p>Return to your device: it will finish signing in by itself. You can close this tab.</p>`

/** Shown after a successful callback when the app gave no `return_to`. */
export function donePage({ device = false, nonce }: PageOptions & { readonly device?: boolean }): string {
  return layout('You are signed in', 'ok', nonce, device ? DONE_DEVICE : DONE_APP)
}

/** Options of {@link confirmPage}. */
export interface ConfirmPageOptions extends PageOptions {
  /** `XXXX-XXXX`, from `userCodeFor`. */
  readonly userCode: string
  /** The Unity server's host, e.g. `unity.example.com:9443`. */
  readonly unityHost: string
  readonly scope: string
  /** The signed state the form posts back. */
  readonly state: string
  /** A device (RFC 8628) asked, not an app on this computer. */
  readonly device?: boolean
}

const CAUTION = {
  app: html`<div class="caution" role="note">\
<p><strong>Only continue if you started signing in from an app yourself, and that app shows this code.</strong></p>\
<p>If a web page, an email or a message sent you here, cancel.</p></div>`,
  device: html`<div class="caution" role="note">\
<p><strong>Only continue if you started signing in on a device yourself, and that device shows this code.</strong></p>\
<p>If a web page, an email or a message sent you here, cancel.</p></div>`,
}
const DECISION_BUTTONS = html`<div class="actions">\
<button type="submit" name="decision" value="continue" class="primary">Continue</button>\
<button type="submit" name="decision" value="cancel" class="secondary">Cancel</button></div>`

/**
 * Asks the user to confirm a sign-in before the browser goes to Unity: without it, any web page
 * could start a flow with its own challenge and a signed-in user would finish it with no click.
 */
export function confirmPage({ userCode, unityHost, scope, state, device = false, nonce }: ConfirmPageOptions): string {
  const asker = device ? 'device' : 'app'
  return layout('Confirm this sign-in', 'ask', nonce, html`\
<p>${device ? 'A device' : 'An app'} asked to sign you in to Unity at <strong>${unityHost}</strong>.</p>\
<p>The ${asker} should be showing this code:</p>\
<div class="user-code" role="status" aria-label="Code ${userCode.split('').join(' ')}">${userCode}</div>\
${CAUTION[asker]}\
<p>If you continue, the ${asker} can ${describeScope(scope)}.</p>\
<form method="post" action="/authorize"><input type="hidden" name="state" value="${state}"/>${DECISION_BUTTONS}</form>`)
}

const CANCELLED_APP = html`<p>Nothing was shared with the app. You can close this tab.</p>`
const CANCELLED_DEVICE = html`<p>Nothing was shared with the device. You can close this tab.</p>`

/** Shown after the user pressed Cancel on the confirmation page. */
export function cancelledPage({ device = false, nonce }: PageOptions & { readonly device?: boolean }): string {
  return layout('Sign-in cancelled', 'warn', nonce, device ? CANCELLED_DEVICE : CANCELLED_APP)
}

/** Options of {@link deviceEntryPage}. */
export interface DeviceEntryPageOptions extends PageOptions {
  /** Shown above the field after a code that is unknown, expired or malformed (the same words for all). */
  readonly problem?: string | undefined
}

const INVALID = html` aria-invalid="true"`

/** RFC 8628 §3.3: where the user types the code their device shows. */
export function deviceEntryPage({ problem, nonce }: DeviceEntryPageOptions): string {
  const alert = problem === undefined ? null : html`<p class="problem" role="alert">${problem}</p>`
  return layout('Sign in a device', 'ask', nonce, html`\
<p>Enter the code that your device shows.</p>\
<form method="get" action="/device" class="entry">${alert}<label for="user_code">Code</label>\
<input id="user_code" name="user_code" type="text" required="" autofocus="" autocomplete="one-time-code" autocapitalize="characters" \
spellcheck="false" maxlength="32" placeholder="XXXX-XXXX"${problem === undefined ? null : INVALID}/>\
<div class="actions"><button type="submit" class="primary">Next</button></div></form>`)
}

/** Scope in plain words; `api` is Unity's only documented scope. */
function describeScope(scope: string): string {
  const tokens = scope.split(' ')
  if (tokens.length === 1 && tokens[0] === 'api') return 'use Unity’s API as you (scope: api)'
  return `use Unity as you, with these permissions: ${tokens.join(', ')}`
}

const ACCESS_DENIED = html`<p>You did not allow access, so the app was not signed in.</p>\
<p>You can close this tab. The app has been told and can start again.</p>`
const REFUSED = html`<p>Unity refused the sign-in request.</p>\
<p>You can close this tab. The app has been told and can start again.</p>`

/** Shown when Unity reports that the user refused, or any other authorization error. */
export function deniedPage({ error, nonce }: PageOptions & { readonly error: string }): string {
  if (error === 'access_denied') return layout('Sign-in was cancelled', 'warn', nonce, ACCESS_DENIED)
  return layout('Unity did not sign you in', 'warn', nonce, html`${REFUSED}<code>${error}</code>`)
}

/** Options of {@link errorPage}. */
export interface ErrorPageOptions extends PageOptions {
  readonly title: string
  readonly message: string
  readonly code: string
}

/** Shown for any error on a browser endpoint. */
export function errorPage({ title, message, code, nonce }: ErrorPageOptions): string {
  return layout(title, 'bad', nonce, html`<p>${message}</p><code>${code}</code>`)
}
