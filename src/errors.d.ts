declare const ERROR_SPECS: {
    readonly invalid_request: {
        readonly status: 400;
        readonly oauthError: "invalid_request";
        readonly title: "This sign-in request is not valid";
    };
    readonly invalid_scope: {
        readonly status: 400;
        readonly oauthError: "invalid_scope";
        readonly title: "The requested scope is not valid";
    };
    readonly invalid_return_to: {
        readonly status: 400;
        readonly oauthError: "invalid_request";
        readonly title: "The return address is not allowed";
    };
    readonly invalid_state: {
        readonly status: 400;
        readonly oauthError: "invalid_request";
        readonly title: "This sign-in link is not valid";
    };
    readonly expired_state: {
        readonly status: 400;
        readonly oauthError: "invalid_request";
        readonly title: "This sign-in link has expired";
    };
    readonly browser_mismatch: {
        readonly status: 400;
        readonly oauthError: "invalid_request";
        readonly title: "This sign-in cannot be finished here";
    };
    readonly cross_site_request: {
        readonly status: 403;
        readonly oauthError: "invalid_request";
        readonly title: "This confirmation did not come from the relay’s page";
    };
    readonly wrong_code: {
        readonly status: 400;
        readonly oauthError: "access_denied";
        readonly title: "That is not the code of this sign-in";
    };
    readonly issuer_mismatch: {
        readonly status: 400;
        readonly oauthError: "invalid_request";
        readonly title: "The sign-in response came from the wrong server";
    };
    readonly unsupported_grant_type: {
        readonly status: 400;
        readonly oauthError: "unsupported_grant_type";
        readonly title: "Unsupported grant type";
    };
    readonly authorization_pending: {
        readonly status: 400;
        readonly oauthError: "authorization_pending";
        readonly title: "Waiting for the user";
    };
    readonly slow_down: {
        readonly status: 400;
        readonly oauthError: "slow_down";
        readonly title: "Too many requests";
    };
    readonly expired_token: {
        readonly status: 400;
        readonly oauthError: "expired_token";
        readonly title: "The code has expired";
    };
    readonly access_denied: {
        readonly status: 400;
        readonly oauthError: "access_denied";
        readonly title: "Sign-in was cancelled";
    };
    readonly unauthorized_client: {
        readonly status: 400;
        readonly oauthError: "unauthorized_client";
        readonly title: "The app is not allowed to sign in";
    };
    readonly unsupported_response_type: {
        readonly status: 400;
        readonly oauthError: "unsupported_response_type";
        readonly title: "Unity refused the sign-in";
    };
    readonly invalid_grant: {
        readonly status: 400;
        readonly oauthError: "invalid_grant";
        readonly title: "The authorization is no longer valid";
    };
    readonly invalid_dpop_proof: {
        readonly status: 400;
        readonly oauthError: "invalid_dpop_proof";
        readonly title: "The proof of possession is not valid";
    };
    readonly unsupported_token_type: {
        readonly status: 400;
        readonly oauthError: "unsupported_token_type";
        readonly title: "This token cannot be revoked here";
    };
    readonly temporarily_unavailable: {
        readonly status: 503;
        readonly oauthError: "temporarily_unavailable";
        readonly title: "Unity is busy";
    };
    readonly flow_finished: {
        readonly status: 409;
        readonly oauthError: "invalid_request";
        readonly title: "This sign-in has already finished";
    };
    readonly flow_in_progress: {
        readonly status: 409;
        readonly oauthError: "invalid_request";
        readonly title: "This sign-in is already under way elsewhere";
    };
    readonly not_confirmed: {
        readonly status: 400;
        readonly oauthError: "invalid_request";
        readonly title: "This sign-in was not confirmed";
    };
    readonly not_found: {
        readonly status: 404;
        readonly oauthError: "invalid_request";
        readonly title: "Page not found";
    };
    readonly method_not_allowed: {
        readonly status: 405;
        readonly oauthError: "invalid_request";
        readonly title: "This address does not accept that method";
    };
    readonly payload_too_large: {
        readonly status: 413;
        readonly oauthError: "invalid_request";
        readonly title: "The request is too large";
    };
    readonly rate_limited: {
        readonly status: 429;
        readonly oauthError: "temporarily_unavailable";
        readonly title: "Too many requests";
    };
    readonly code_entry_closed: {
        readonly status: 429;
        readonly oauthError: "temporarily_unavailable";
        readonly title: "Code entry is paused";
    };
    /** Answered with the code entry page rather than thrown; the code names the refusal in logs. */
    readonly unknown_user_code: {
        readonly status: 400;
        readonly oauthError: "invalid_request";
        readonly title: "That code is not valid";
    };
    readonly unity_refused_relay: {
        readonly status: 502;
        readonly oauthError: "server_error";
        readonly title: "Unity refused the relay’s credentials";
    };
    readonly upstream_error: {
        readonly status: 502;
        readonly oauthError: "server_error";
        readonly title: "Unity reported an error";
    };
    readonly upstream_unavailable: {
        readonly status: 502;
        readonly oauthError: "temporarily_unavailable";
        readonly title: "Unity is not reachable";
    };
    readonly upstream_invalid_response: {
        readonly status: 502;
        readonly oauthError: "server_error";
        readonly title: "Unity sent an unexpected answer";
    };
    readonly store_unavailable: {
        readonly status: 503;
        readonly oauthError: "temporarily_unavailable";
        readonly title: "The relay could not reach its storage";
    };
    readonly misconfigured: {
        readonly status: 500;
        readonly oauthError: "server_error";
        readonly title: "The relay is misconfigured";
    };
    readonly server_error: {
        readonly status: 500;
        readonly oauthError: "server_error";
        readonly title: "Something went wrong in the relay";
    };
};
/** Every error the relay can answer with on purpose. */
export type RelayErrorCode = keyof typeof ERROR_SPECS;
/** How an error is rendered: HTML for browser endpoints, RFC 6749-style JSON for API calls. */
export type ErrorFormat = 'html' | 'json';
/** Options for {@link RelayError}. */
export interface RelayErrorOptions {
    /** Overrides the code's default HTTP status (Unity's own status on pass-through). */
    readonly status?: number;
    /** Underlying fault, kept for logs only and never rendered. */
    readonly cause?: unknown;
    /** Response headers the error needs, e.g. `Retry-After` on a 429 or `Allow` on a 405. */
    readonly headers?: Readonly<Record<string, string>>;
}
/**
 * An expected failure with a code from a closed set.
 *
 * `description` is shown to users and API clients: it must be written by the relay and never
 * contain request input, codes, tokens or secrets.
 *
 * @example
 * throw new RelayError('invalid_request', 'code_challenge must be 43 characters of base64url.')
 */
export declare class RelayError extends Error {
    #private;
    readonly code: RelayErrorCode;
    readonly description: string;
    readonly status: number;
    readonly headers: Readonly<Record<string, string>>;
    constructor(code: RelayErrorCode, description: string, options?: RelayErrorOptions);
    /** The `error` value API clients see. */
    get oauthError(): string;
    /** Renders the error; `nonce` allows the page's inline stylesheet under the CSP. */
    toResponse(format: ErrorFormat, nonce?: string): Response;
}
export {};
