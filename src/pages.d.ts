/**
 * @module
 * The few HTML pages a user's browser sees, as `hono/html` templates: every interpolated value is
 * escaped, and only constants of this module pass through `raw`. The only style is an inline
 * sheet allowed by the CSP nonce, the only script the confirmation page's intent gate, and there
 * are no third-party resources.
 */
import { raw } from 'hono/html';
import type { Place } from './place.ts';
/** The page's mood, shown by the mark's colour. */
export type Tone = 'ok' | 'warn' | 'bad' | 'ask' | 'info';
/** Markup whose every value has been escaped (or is a constant of this module). */
export type Html = ReturnType<typeof raw>;
/** A value a template may hold: text is escaped, {@link Html} is kept, null and undefined are left out. */
export type Value = string | number | Html | null | undefined;
/**
 * `html` restricted to values that are never promises, so a page is built synchronously and in
 * one pass; escaping stays hono/html's. A `\` at the end of a template's line joins it to the next
 * with no newline, so the markup reads in lines and the page stays one line.
 */
export declare const html: (strings: TemplateStringsArray, ...values: readonly Value[]) => Html;
/** What a page adds to its `<head>`: today only the confirmation page's intent gate. */
export type HeadExtra = 'intent-gate' | undefined;
/**
 * The frame of every relay page, as a finished standards-mode document: one card and the shared
 * stylesheet. The only script any page has is the confirmation page's intent gate, inline under
 * the nonce (no nonce, no script).
 */
export declare function layout(title: string, tone: Tone, nonce: string | undefined, content: Html, extra?: HeadExtra): string;
/** Options every page takes: the CSP nonce that allows its stylesheet. */
interface PageOptions {
    readonly nonce?: string | undefined;
}
/** Shown after a successful callback when the app gave no `return_to`. */
export declare function donePage({ device, nonce }: PageOptions & {
    readonly device?: boolean;
}): string;
/** Options of {@link confirmPage}. */
export interface ConfirmPageOptions extends PageOptions {
    /** `XXXX-XXXX`, from `userCodeFor`. */
    readonly userCode: string;
    /** The Unity server's host, e.g. `unity.example.com:9443`. */
    readonly unityHost: string;
    readonly scope: string;
    /** The signed state the form posts back. */
    readonly state: string;
    /** A device (RFC 8628) asked, not an app on this computer. */
    readonly device?: boolean;
    /**
     * The page was reached from another site: the user picks the app's code among these (the real
     * one and two decoys, in random order) instead of pressing Continue, and the code is not shown.
     */
    readonly choices?: readonly string[] | undefined;
    /** When the flow started and the time now, Unix seconds. */
    readonly startedAt?: number | undefined;
    readonly now?: number | undefined;
    /** Where the device asked from, and where this browser is, as far as the runtime knows. */
    readonly deviceFrom?: Place | undefined;
    readonly browserAt?: Place | undefined;
}
/**
 * Asks the user to confirm a sign-in before the browser goes to Unity: without it, any web page
 * could start a flow with its own challenge and a signed-in user would finish it with no click.
 * Reached from another site, it asks the user to pick the code instead, which a press that was
 * not aimed at this page cannot do.
 */
export declare function confirmPage(options: ConfirmPageOptions): string;
/** Shown after the user pressed Cancel on the confirmation page. */
export declare function cancelledPage({ device, nonce }: PageOptions & {
    readonly device?: boolean;
}): string;
/** Options of {@link deviceEntryPage}. */
export interface DeviceEntryPageOptions extends PageOptions {
    /** Shown above the field after a code that is unknown, expired or malformed (the same words for all). */
    readonly problem?: string | undefined;
}
/** RFC 8628 §3.3: where the user types the code their device shows. */
export declare function deviceEntryPage({ problem, nonce }: DeviceEntryPageOptions): string;
/** Shown when Unity reports that the user refused, or any other authorization error. */
export declare function deniedPage({ error, nonce }: PageOptions & {
    readonly error: string;
}): string;
/** Options of {@link errorPage}. */
export interface ErrorPageOptions extends PageOptions {
    readonly title: string;
    readonly message: string;
    readonly code: string;
}
/** Shown for any error on a browser endpoint. */
export declare function errorPage({ title, message, code, nonce }: ErrorPageOptions): string;
/** Options of {@link landingPage}. */
export interface LandingPageOptions {
    /** Host of the Unity server the relay signs users in to. */
    readonly unityHost: string;
    /** Path of the RFC 8414 server metadata; the page links to it when set. */
    readonly metadataPath?: string | undefined;
    readonly nonce?: string | undefined;
}
/** What this relay is, its endpoints, and a link to its metadata. */
export declare function landingPage({ unityHost, metadataPath, nonce }: LandingPageOptions): string;
export {};
