/**
 * @module
 * The confirmation page's defence against double-click-jacking: another site puts a button where
 * Continue will appear, swaps the page in on the first click of a double click (or of a "click fast"
 * game, or a held Enter), and the next press lands on Continue. No frame is involved, so
 * `frame-ancestors` cannot help. The buttons stay inert until the press can only be the user's
 * own decision on this page:
 *
 * - the page has been visible and focused, with no press of a key or pointer, for
 *   {@link QUIET_MS} ("a moment", in which a double click or a burst of clicks has ended);
 * - then the mouse moves onto a button, or a touch lands on one, or a fresh (not repeated) key
 *   press activates the focused button;
 * - a press before that, a repeated key, or the page losing focus or visibility starts the wait
 *   again.
 *
 * Runs inline in the page's `<head>` under the page's CSP nonce, before the form exists, so no
 * press can reach a button before the gate does. Without scripts a CSS delay stands in.
 */

/** How long the page must be visible, focused and untouched before a press can count. */
export const QUIET_MS = 1000

/**
 * The gate, as the script the page inlines. `<html data-gate>` tells the page's stylesheet (and
 * the e2e tests) its state: `waiting`, `ready` (quiet long enough; point at a button) or `armed`.
 */
export const INTENT_GATE_SCRIPT = `(() => {
const QUIET_MS = ${QUIET_MS}
const root = document.documentElement
let quietSince = performance.now(), armed = false, timer = 0
const attentive = () => document.visibilityState === 'visible' && document.hasFocus()
const settled = () => attentive() && performance.now() - quietSince >= QUIET_MS
const show = (state) => { root.dataset.gate = state }
const tick = () => {
  clearTimeout(timer)
  if (armed) return
  const wait = QUIET_MS - (performance.now() - quietSince)
  // An unseen or unfocused page waits for the focus or visibility event, which starts the wait again.
  if (!attentive() || wait > 0) { show('waiting'); if (attentive()) timer = setTimeout(tick, wait); return }
  show('ready')
}
const reset = () => { quietSince = performance.now(); armed = false; tick() }
const arm = () => { armed = true; clearTimeout(timer); show('armed') }
const gated = (target) => target instanceof Element && target.closest('form[data-gate] button') !== null
const hint = () => { const note = document.getElementById('gate-hint'); if (note) note.hidden = false }
addEventListener('pointermove', (e) => { if (!armed && e.isTrusted && e.pointerType === 'mouse' && settled() && gated(e.target)) arm() }, true)
addEventListener('pointerdown', (e) => { if (armed && gated(e.target)) return; if (e.isTrusted && e.pointerType !== 'mouse' && settled() && gated(e.target)) arm(); else reset() }, true)
addEventListener('keydown', (e) => { if (e.repeat || (!armed && !settled())) reset() }, true)
addEventListener('click', (e) => {
  if (!gated(e.target)) return
  if (e.isTrusted && (armed || (e.detail === 0 && settled()))) return
  e.preventDefault(); reset(); hint()
}, true)
addEventListener('blur', reset)
addEventListener('focus', reset)
document.addEventListener('visibilitychange', reset)
addEventListener('pageshow', reset)
reset()
})()`
