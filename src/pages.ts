/**
 * @module
 * The few HTML pages a user's browser sees, as `hono/html` templates: every interpolated value is
 * escaped, and only constants of this module pass through `raw`. The only style is an inline
 * sheet allowed by the CSP nonce, the only script the confirmation page's intent gate, and there
 * are no third-party resources.
 */
import { html as honoHtml, raw } from 'hono/html'
import { INTENT_GATE_SCRIPT } from './intent-gate.ts'
import { countryName, placeDifference } from './place.ts'
import type { Place } from './place.ts'

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
.alarm { margin: 0 0 16px; padding: 12px 14px; border-left: 4px solid var(--bad); border-radius: 6px; background: var(--tint); text-align: left; }
.alarm p { margin: 0; color: var(--fg); }
.alarm p + p { margin-top: 6px; }
.choices { display: grid; gap: 10px; margin: 12px 0 4px; }
.choices button { min-height: 52px; padding: 8px 12px; border: 2px solid var(--line); border-radius: 10px; background: transparent; color: var(--fg); cursor: pointer;
  font: 700 1.5rem/1.2 ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", "DejaVu Sans Mono", monospace; letter-spacing: .12em; }
.choices button:focus-visible { outline: 3px solid var(--ask); outline-offset: 2px; }
.when { font-size: .9rem; }
html[data-gate="waiting"] form[data-gate] button { opacity: .45; cursor: progress; }
#gate-hint { margin-top: 12px; color: var(--fg); font-weight: 600; }
`

/** Without scripts, the intent gate cannot run: the buttons then appear only after a delay, which a double click cannot outlast. */
const NO_SCRIPT_STYLE = `form[data-gate] button { animation: uor-reveal 1s step-end; }
@keyframes uor-reveal { from { visibility: hidden; } }`

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
// Constants of this module, like the stylesheet: the script has no `</script>` and no input in it.
const GATE = raw(INTENT_GATE_SCRIPT)
const NO_SCRIPT_SHEET = raw(NO_SCRIPT_STYLE)

/** Fragments made by {@link html}, one after another: each is escaped already. */
function joined(parts: readonly Html[]): Html {
  return raw(parts.join(''))
}

/** What a page adds to its `<head>`: today only the confirmation page's intent gate. */
export type HeadExtra = 'intent-gate' | undefined

/**
 * The frame of every relay page, as a finished standards-mode document: one card and the shared
 * stylesheet. The only script any page has is the confirmation page's intent gate, inline under
 * the nonce (no nonce, no script).
 */
export function layout(title: string, tone: Tone, nonce: string | undefined, content: Html, extra?: HeadExtra): string {
  const style = nonce === undefined ? SHEET_WITHOUT_NONCE : html`<style nonce="${nonce}">${SHEET}`
  const gate = extra === 'intent-gate' && nonce !== undefined
    ? html`<script nonce="${nonce}">${GATE}</script><noscript><style nonce="${nonce}">${NO_SCRIPT_SHEET}</style></noscript>`
    : null
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"/>\
<meta name="viewport" content="width=device-width, initial-scale=1"/><meta name="robots" content="noindex"/>\
<title>${title}</title>${style}${gate}</head>\
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
  /**
   * The page was reached from another site: the user picks the app's code among these (the real
   * one and two decoys, in random order) instead of pressing Continue, and the code is not shown.
   */
  readonly choices?: readonly string[] | undefined
  /** When the flow started and the time now, Unix seconds. */
  readonly startedAt?: number | undefined
  readonly now?: number | undefined
  /** Where the device asked from, and where this browser is, as far as the runtime knows. */
  readonly deviceFrom?: Place | undefined
  readonly browserAt?: Place | undefined
}

const CAUTION = {
  app: html`<div class="caution" role="note">\
<p><strong>Only continue if you started signing in from an app yourself, and that app shows this code.</strong></p>\
<p>If a web page, an email or a message sent you here, cancel.</p></div>`,
  device: html`<div class="caution" role="note">\
<p><strong>Only continue if you started signing in on a device yourself, and that device shows this code.</strong></p>\
<p>If a web page, an email or a message sent you here, cancel.</p></div>`,
}
const LINKED = {
  app: html`<div class="alarm" role="alert">\
<p><strong>Another web site sent you here, not an app on your computer.</strong></p>\
<p>Someone may be trying to sign in to your Unity account. Only go on if you started signing in from an app yourself just now.</p></div>`,
  device: html`<div class="alarm" role="alert">\
<p><strong>Another web site sent you here, not the code you typed.</strong></p>\
<p>Someone may be trying to sign in to your Unity account. Only go on if you started signing in on a device yourself just now.</p></div>`,
}
const DECISION_BUTTONS = html`<div class="actions">\
<button type="submit" name="decision" value="continue" class="primary">Continue</button>\
<button type="submit" name="decision" value="cancel" class="secondary">Cancel</button></div>`
const NONE_OF_THESE = html`<div class="actions">\
<button type="submit" name="decision" value="cancel" class="secondary">None of these: cancel</button></div>`
const GATE_HINT = html`<p id="gate-hint" role="status" hidden="">Read this page for a moment, then move the pointer onto your choice and click it once (or tap it).</p>`

/**
 * Asks the user to confirm a sign-in before the browser goes to Unity: without it, any web page
 * could start a flow with its own challenge and a signed-in user would finish it with no click.
 * Reached from another site, it asks the user to pick the code instead, which a press that was
 * not aimed at this page cannot do.
 */
export function confirmPage(options: ConfirmPageOptions): string {
  const { userCode, unityHost, scope, state, device = false, choices, nonce } = options
  const asker = device ? 'device' : 'app'
  const decide = choices === undefined
    ? html`<p>The ${asker} should be showing this code:</p>\
<div class="user-code" role="status" aria-label="Code ${userCode.split('').join(' ')}">${userCode}</div>\
${CAUTION[asker]}${consequences(asker, scope, unityHost)}\
<form method="post" action="/authorize" data-gate=""><input type="hidden" name="state" value="${state}"/>${DECISION_BUTTONS}${GATE_HINT}</form>`
    : html`${LINKED[asker]}${consequences(asker, scope, unityHost)}\
<form method="post" action="/authorize" data-gate=""><input type="hidden" name="state" value="${state}"/>\
<p><strong>Which code does your ${asker} show?</strong></p>\
<div class="choices">${joined(choices.map((choice) => html`<button type="submit" name="pick" value="${choice}" aria-label="Code ${choice.split('').join(' ')}">${choice}</button>`))}</div>\
${NONE_OF_THESE}${GATE_HINT}</form>`
  return layout('Confirm this sign-in', 'ask', nonce, html`\
<p>${device ? 'A device' : 'An app'} asked to sign you in to Unity at <strong>${unityHost}</strong>.</p>\
${provenance(options)}${decide}`, 'intent-gate')
}

/** What continuing gives away, and as whom: Unity signs in whoever this browser is signed in as. */
function consequences(asker: 'app' | 'device', scope: string, unityHost: string): Html {
  return html`<p>If you continue, the ${asker} can ${describeScope(scope)}. Unity uses the account this browser is signed in to at ${unityHost}, possibly without asking you again.</p>`
}

/** When the flow started and, for a device, where from; only what the relay knows to be true. */
function provenance({ device = false, startedAt, now, deviceFrom, browserAt }: ConfirmPageOptions): Html | null {
  if (startedAt === undefined || now === undefined) return null
  const at = html`<time datetime="${new Date(startedAt * 1000).toISOString()}">${utcTime(startedAt)}</time>`
  if (!device) return html`<p class="when">Started at ${at}, when this page opened.</p>`
  const from = deviceFrom === undefined ? null : html`, ${describePlace(deviceFrom)}`
  const line = html`<p class="when">The device asked ${ago(now - startedAt)} (at ${at})${from}.</p>`
  const difference = placeDifference(deviceFrom, browserAt)
  if (difference === 'country') {
    return html`${line}<div class="alarm" role="alert"><p><strong>That device is in ${countryName(deviceFrom?.country ?? '')}, but this browser is in ${countryName(browserAt?.country ?? '')}.</strong></p>\
<p>If you are not next to the device yourself, cancel: someone may be trying to sign in to your account from there.</p></div>`
  }
  if (difference === 'network') {
    return html`${line}<p class="when">This browser is on another network (${browserAt?.network ?? ''}). That is normal for a phone on mobile data; if you are not next to the device, cancel.</p>`
  }
  return line
}

function describePlace({ country, network }: Place): Html {
  if (country !== undefined && network !== undefined) return html`from ${countryName(country)}, on the network of ${network}`
  if (country !== undefined) return html`from ${countryName(country)}`
  return html`on the network of ${network ?? ''}`
}

/** `14:05 UTC`: the page may not know the reader's time zone, so it says which one it uses. */
function utcTime(unixSeconds: number): string {
  return `${new Date(unixSeconds * 1000).toISOString().slice(11, 16)} UTC`
}

function ago(seconds: number): string {
  if (seconds < 60) return 'just now'
  const minutes = Math.floor(seconds / 60)
  return minutes === 1 ? '1 minute ago' : `${minutes} minutes ago`
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

/** Options of {@link landingPage}. */
export interface LandingPageOptions {
  /** Host of the Unity server the relay signs users in to. */
  readonly unityHost: string
  /** Path of the RFC 8414 server metadata; the page links to it when set. */
  readonly metadataPath?: string | undefined
  readonly nonce?: string | undefined
}

/** What this relay is, its endpoints, and a link to its metadata. */
export function landingPage({ unityHost, metadataPath, nonce }: LandingPageOptions): string {
  const discovery = metadataPath === undefined ? null : html`\
<p>Apps can discover these endpoints from the <a href="${metadataPath}">server metadata</a> (RFC 8414).</p>`
  return layout('Unity sign-in relay', 'info', nonce, html`\
<p>This service signs apps in to the Unity server at <strong>${unityHost}</strong> for their users. It keeps the \
client secret, and hands the tokens only to the app that started the sign-in.</p>\
<p>There is nothing to do on this page: an app sends you here when it needs you to sign in.</p>\
<dl>\
<dt><code>GET /authorize</code></dt><dd>Your browser starts a sign-in and shows its code (the app gives the link).</dd>\
<dt><code>POST /authorize</code></dt><dd>Continue (or the code you pick) or Cancel on that page.</dd>\
<dt><code>GET /callback</code></dt><dd>Unity sends your browser back here after you sign in.</dd>\
<dt><code>POST /token</code></dt><dd>The app picks up its tokens with a form body, or refreshes them.</dd>\
<dt><code>POST /device_authorization</code></dt><dd>A device without a browser (a CLI, a TV app) starts a sign-in and shows you a code.</dd>\
<dt><code>GET /device</code></dt><dd>You type that code here and confirm (RFC 8628).</dd>\
<dt><code>GET /healthz</code></dt><dd>Monitoring.</dd>\
</dl>\
${discovery}`)
}
