/**
 * @module
 * Everything the relay says to Unity: the authorization URL and the token endpoint calls.
 * `fetch` is injected, so tests play Unity with a strict stub and later work can inject faults.
 */
import type { Config } from './config.ts';
import { RelayError } from './errors.ts';
/** How a token call ended. Unity's body is kept verbatim on success. */
export type TokenOutcome = {
    readonly kind: 'tokens';
    readonly body: string;
}
/** Unity gave a final answer: the code is spent or the request is wrong. */
 | {
    readonly kind: 'rejected';
    readonly error: RelayError;
}
/**
 * Unity did not act on the code or refresh token: it could not be reached, failed (network
 * error, timeout, 5xx), sent an answer the relay cannot read (a redirect, a page, an oversized
 * body), or refused the relay's own client credentials, which it checks before the grant
 * (RFC 6749 §3.2.1). The code stays: a code that was spent after all only earns the retry
 * Unity's `invalid_grant`.
 */
 | {
    readonly kind: 'unavailable';
    readonly error: RelayError;
};
/** Parameters of {@link UnityClient.authorizeUrl}. */
export interface AuthorizeUrlParams {
    readonly redirectUri: string;
    readonly scope: string;
    readonly state: string;
    readonly challenge: string;
}
/** Talks to one Unity server with the relay's client credentials. */
export interface UnityClient {
    /** `${UNITY_URL}/api/oauth/authorize?…` for the user's browser. */
    authorizeUrl(params: AuthorizeUrlParams): string;
    /** RFC 6749 §4.1.3 code exchange, with the app's verifier when PKCE is on. */
    exchangeCode(params: {
        code: string;
        redirectUri: string;
        verifier: string;
    }): Promise<TokenOutcome>;
    /** RFC 6749 §6 refresh. */
    refresh(params: {
        refreshToken: string;
        scope: string | undefined;
    }): Promise<TokenOutcome>;
}
/** Options of {@link createUnityClient}. */
export interface UnityClientOptions {
    readonly config: Config;
    readonly fetch: typeof fetch;
    /** Abort a token call after this long; default 10 s. */
    readonly timeoutMs?: number;
}
/** Builds the {@link UnityClient} for a config. */
export declare function createUnityClient({ config, fetch, timeoutMs }: UnityClientOptions): UnityClient;
/** RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding. */
export declare function basicAuthorization(clientId: string, clientSecret: string): string;
/**
 * Encodes a value exactly as `URLSearchParams` serialises it: UTF-8 percent-encoding of all but
 * `A-Z a-z 0-9 * - . _`, and space as `+`.
 */
export declare function formEncode(value: string): string;
/** The settings an operator checks when Unity refuses the relay's client credentials. */
export declare const CREDENTIAL_SETTINGS: readonly ["UNITY_CLIENT_ID", "UNITY_CLIENT_SECRET", "UNITY_TOKEN_AUTH"];
/**
 * The cause of a `unity_refused_relay` error, for its log line: Unity's status, and its error
 * code when it is one of {@link CREDENTIAL_ERRORS} (never Unity's description).
 */
export declare class CredentialsRefused {
    readonly status: number;
    readonly error: string | undefined;
    constructor(status: number, error: string | undefined);
}
/** Largest token response read from Unity; a real one is a few hundred bytes to a few KiB. */
export declare const MAX_UPSTREAM_BODY_BYTES: number;
