/**
 * @module
 * The user code shown on the confirmation page. It is derived from the PKCE `code_challenge`, so
 * an app can show the same code without asking the relay, and the relay stores nothing for it.
 * Web APIs only: apps can import this module on any runtime.
 */
/** RFC 8628 §6.1: 20 consonants, no vowels (no words) and no look-alike digits. */
export declare const USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ";
/** Characters in a user code, without the dash. */
export declare const USER_CODE_LENGTH = 8;
/** A user code in stored form, as device records are keyed: {@link USER_CODE_LENGTH} letters of the alphabet, no dash. */
export declare const STORED_USER_CODE_PATTERN: RegExp;
/** A user code as the user sees it, `XXXX-XXXX`: the stored form with a dash in the middle. */
export declare const SHOWN_USER_CODE_PATTERN: RegExp;
/**
 * The user code for a flow, shown as `XXXX-XXXX`.
 *
 * `d = SHA-256(UTF-8("unity-oauth-relay user code:" + code_challenge))`; character *i* (0..7) is
 * `USER_CODE_ALPHABET[d[i] % 20]`.
 *
 * @example
 * await userCodeFor('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM') // 'BGBP-FFBB' (RFC 7636 Appendix B's challenge)
 */
export declare function userCodeFor(challenge: string): Promise<string>;
/** The user code in stored form ({@link STORED_USER_CODE_PATTERN}), as device records are keyed. */
export declare function storedUserCodeFor(challenge: string): Promise<string>;
/**
 * Reads a user code as a person typed it (RFC 8628 §6.1: case, dashes and spaces don't matter) and
 * returns it in stored form, or `null` if it cannot be a user code.
 */
export declare function normalizeUserCode(input: string): string | null;
/** `XXXX-XXXX`, as the user sees it, from a stored code. */
export declare function displayUserCode(stored: string): string;
/**
 * `count` random user codes, shown as `XXXX-XXXX`, none equal to `real` or to each other: the
 * decoys among which a user picks the code their app shows.
 */
export declare function decoyUserCodes(real: string, count: number): string[];
