/**
 * @module
 * The life of a refresh grant's record, shared by every backend (rotation with reuse detection,
 * RFC 9700 §4.14.2): what is stored, what a refresh of a given generation may do, and the
 * in-memory single flight that gives concurrent refreshes of one generation one Unity call.
 * Backends differ only in how atomically they apply these decisions.
 *
 * ```
 * start ──▶ generation 0 ──refresh 0──▶ generation 1 ──refresh 1──▶ … ──▶ (exp: gone)
 *                 │                          │
 *                 └──── revoke, or an older generation past the grace ──▶ revoked
 * ```
 */
import type { RelayErrorCode } from '../errors.ts';
/** One grant's record, keyed by its grant id; it holds no token. */
export interface GrantRecord {
    /** The newest generation the relay sealed for the grant. */
    readonly generation: number;
    /** Unix seconds: the grant's end (`REFRESH_GRANT_TTL_SECONDS` after its pickup). */
    readonly exp: number;
    /** When `generation` was sealed, Unix seconds: the grace window for the previous one starts here. */
    readonly rotatedAt: number;
    /** Revoked at `/revoke` or on a reuse: no generation refreshes again. */
    readonly revoked?: true;
}
/** Why a grant refused a refresh. */
export type GrantRefusal = 
/** No live record: the grant expired, or the relay never started it. */
'unknown' | 'revoked'
/** An older generation past the grace window: the grant has just been revoked. */
 | 'reused'
/** The previous generation within the grace window, whose answer this process does not hold. */
 | 'superseded';
/** What a refresh of a generation is to do, decided from the stored record. */
export type GrantStep = {
    readonly kind: 'refused';
    readonly reason: Exclude<GrantRefusal, 'reused'>;
}
/** Revoke the grant (write `revoked`), then refuse as `reused`. */
 | {
    readonly kind: 'revoke';
    readonly revoked: GrantRecord;
}
/** The current generation: ask Unity, and on tokens store `next`. */
 | {
    readonly kind: 'rotate';
    readonly next: GrantRecord;
}
/** The previous generation within the grace: take the answer of the refresh that moved it on. */
 | {
    readonly kind: 'join';
};
/** The rule a refresh is decided by. */
export interface GrantRule {
    readonly nowSeconds: number;
    /** `REFRESH_REUSE_GRACE_SECONDS`. */
    readonly graceSeconds: number;
}
/**
 * What one refresh got from Unity, in a form that crosses a Durable Object's RPC boundary: the
 * token answer's body (its refresh token already sealed), or the error to answer with.
 */
export type GrantAnswer = {
    readonly kind: 'tokens';
    readonly body: string;
} | {
    readonly kind: 'rejected' | 'unavailable';
    readonly code: RelayErrorCode;
    readonly description: string;
    readonly status: number;
    readonly headers: Readonly<Record<string, string>>;
};
/** What a grant's refresh came to. */
export type GrantRefresh = {
    readonly kind: 'refused';
    readonly reason: GrantRefusal;
} | {
    readonly kind: 'answered';
    readonly answer: GrantAnswer;
};
/** The record a pickup starts, at generation 0. */
export declare function firstGrantRecord(nowSeconds: number, ttlSeconds: number): GrantRecord;
/** Parses a stored grant value, rejecting anything that is not well-formed. */
export declare function parseGrantRecord(value: unknown): GrantRecord | null;
/**
 * Decides a refresh of `generation` against the stored record. A refresh already under way for
 * the same generation is joined before this is asked (see {@link GrantFlights}).
 */
export declare function decideRefresh(stored: GrantRecord | null, generation: number, rule: GrantRule): GrantStep;
/** The record after a revocation: the same grant and expiry, `revoked`. */
export declare function revokedRecord(stored: GrantRecord): GrantRecord;
/**
 * The refreshes under way (and, for the grace window, just answered) in this process or object,
 * keyed by grant and generation, so that a second refresh of the same generation waits for the
 * first and gets its answer instead of asking Unity again. Memory only: no answer is stored.
 */
export declare class GrantFlights {
    #private;
    /** The answer under way or kept for `generation`, if there is one. */
    find(grantId: string, generation: number, nowSeconds: number): Promise<GrantAnswer> | undefined;
    /**
     * Runs `exchange` as the one refresh of `generation`; its answer is kept until `graceSeconds`
     * after the refresh began if it carries tokens, and dropped at once otherwise (a retry asks Unity again).
     */
    run(grantId: string, generation: number, rule: GrantRule, exchange: () => Promise<GrantAnswer>): Promise<GrantAnswer>;
    /** Forgets every answer of a grant (it was revoked). */
    forget(grantId: string): void;
}
/**
 * The answer for a refresh whose tokens came back after the record moved on without it (a
 * revocation, or a concurrent refresh elsewhere): refused, and the grant left as the record says.
 */
export declare const SUPERSEDED_ANSWER: GrantAnswer;
/** The answer waiters get when the refresh they waited for never reported back (its request ended). */
export declare const LOST_ANSWER: GrantAnswer;
