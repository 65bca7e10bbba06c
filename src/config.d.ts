import type { RateLimits } from './limits/settings.ts';
/** How the relay authenticates to Unity's token endpoint (RFC 6749 §2.3.1). */
export type TokenAuthMethod = 'client_secret_basic' | 'client_secret_post';
/** Whether PKCE parameters are forwarded to Unity. */
export type PkceMode = 'S256' | 'off';
/** Whether `/authorize` asks the user to confirm the sign-in on a relay page first. */
export type ConfirmPageMode = 'always' | 'never';
/**
 * What `/token` hands apps as their refresh token: one the relay sealed around Unity's (`sealed`),
 * or Unity's own (`passthrough`, for apps that must also talk to Unity directly).
 */
export type RefreshTokenMode = 'sealed' | 'passthrough';
/** Where records live on Workers: Workers KV (`AUTH_CODES`) or Durable Objects (`AUTH_FLOWS`). */
export type CodeStoreKind = 'kv' | 'durable-object';
/** Validated settings. Built by {@link parseConfig}; tests may build one directly. */
export interface Config {
    /** `${UNITY_URL}/api/oauth/authorize` */
    readonly authorizeEndpoint: string;
    /** `${UNITY_URL}/api/oauth/token` */
    readonly tokenEndpoint: string;
    readonly clientId: string;
    readonly clientSecret: string;
    readonly defaultScope: string;
    readonly tokenAuth: TokenAuthMethod;
    readonly pkce: PkceMode;
    /** `always`: GET /authorize shows the confirmation page; `never`: it redirects straight to Unity. */
    readonly confirmPage: ConfirmPageMode;
    /** Expected RFC 9207 `iss`; `undefined` skips the check. */
    readonly issuer: string | undefined;
    /** Current HMAC key first, then the previous one during rotation. */
    readonly stateSecrets: readonly string[];
    /** Fixed redirect URI; `undefined` means `${request origin}/callback`. */
    readonly redirectUri: string | undefined;
    /** Exact origins a `return_to` and a CORS request may have. */
    readonly returnToOrigins: readonly string[];
    readonly stateTtlSeconds: number;
    readonly codeTtlSeconds: number;
    /** Each limit's count and period: Deno's in-process limiters, and `Retry-After` everywhere. */
    readonly rateLimits: RateLimits;
    /** `CODE_STORE`; the Deno entry always uses Deno KV and accepts only `kv`. */
    readonly codeStore: CodeStoreKind;
    /** `REFRESH_TOKENS`. */
    readonly refreshTokens: RefreshTokenMode;
    /**
     * The secrets of the refresh-token seal, current first, then the previous one during rotation.
     * Always at least the current one with `sealed`; with `passthrough` whatever is set, unused.
     */
    readonly refreshSealSecrets: readonly string[];
    /** `REQUIRE_DPOP=true`: every pickup and refresh must carry a DPoP proof (RFC 9449 §5). */
    readonly requireDpop: boolean;
    /** `REFRESH_GRANT_TTL_SECONDS`: how long a grant refreshes after its pickup, whatever Unity's token says. */
    readonly refreshGrantTtlSeconds: number;
    /** `REFRESH_REUSE_GRACE_SECONDS`: how long the previous generation still gets its successor's answer. */
    readonly refreshReuseGraceSeconds: number;
}
/** Raw settings: Workers `env`, or `Deno.env.toObject()`. Non-string values are ignored. */
export type ConfigSource = object;
/** Smallest `STATE_SECRET` and `REFRESH_SEAL_SECRET`, in bytes: keys of 256-bit primitives should be at least as long as the hash. */
export declare const MIN_STATE_SECRET_BYTES = 32;
/**
 * Validates settings and returns a {@link Config}.
 *
 * @throws {RelayError} `misconfigured`, listing every bad setting by name.
 */
export declare function parseConfig(source: ConfigSource): Config;
/**
 * The cause of a `misconfigured` error from {@link parseConfig}: the names of the bad settings,
 * for the log line. Names only: a setting's value may be a secret.
 */
export declare class BadSettings {
    readonly names: readonly string[];
    constructor(names: readonly string[]);
}
/** Longest scope string the relay forwards; keeps the signed state small. */
export declare const MAX_SCOPE_LENGTH = 256;
/** Whether `value` is a well-formed, bounded RFC 6749 §3.3 scope. */
export declare function isScope(value: string): boolean;
