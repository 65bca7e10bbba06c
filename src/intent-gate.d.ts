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
export declare const QUIET_MS = 1000;
/**
 * The gate, as the script the page inlines. `<html data-gate>` tells the page's stylesheet (and
 * the e2e tests) its state: `waiting`, `ready` (quiet long enough; point at a button) or `armed`.
 */
export declare const INTENT_GATE_SCRIPT = "(() => {\nconst QUIET_MS = 1000\nconst root = document.documentElement\nlet quietSince = performance.now(), armed = false, timer = 0\nconst attentive = () => document.visibilityState === 'visible' && document.hasFocus()\nconst settled = () => attentive() && performance.now() - quietSince >= QUIET_MS\nconst show = (state) => { root.dataset.gate = state }\nconst tick = () => {\n  clearTimeout(timer)\n  if (armed) return\n  const wait = QUIET_MS - (performance.now() - quietSince)\n  // An unseen or unfocused page waits for the focus or visibility event, which starts the wait again.\n  if (!attentive() || wait > 0) { show('waiting'); if (attentive()) timer = setTimeout(tick, wait); return }\n  show('ready')\n}\nconst reset = () => { quietSince = performance.now(); armed = false; tick() }\nconst arm = () => { armed = true; clearTimeout(timer); show('armed') }\nconst gated = (target) => target instanceof Element && target.closest('form[data-gate] button') !== null\nconst hint = () => { const note = document.getElementById('gate-hint'); if (note) note.hidden = false }\naddEventListener('pointermove', (e) => { if (!armed && e.isTrusted && e.pointerType === 'mouse' && settled() && gated(e.target)) arm() }, true)\naddEventListener('pointerdown', (e) => { if (armed && gated(e.target)) return; if (e.isTrusted && e.pointerType !== 'mouse' && settled() && gated(e.target)) arm(); else reset() }, true)\naddEventListener('keydown', (e) => { if (e.repeat || (!armed && !settled())) reset() }, true)\naddEventListener('click', (e) => {\n  if (!gated(e.target)) return\n  if (e.isTrusted && (armed || (e.detail === 0 && settled()))) return\n  e.preventDefault(); reset(); hint()\n}, true)\naddEventListener('blur', reset)\naddEventListener('focus', reset)\ndocument.addEventListener('visibilitychange', reset)\naddEventListener('pageshow', reset)\nreset()\n})()";
