/**
 * @module
 * The shapes of values apps send, shared by the pickup and the standard flow's validators.
 */

/** RFC 7636 §4.2: BASE64URL(SHA-256(verifier)) is always 43 characters. */
export const CHALLENGE_PATTERN = /^[A-Za-z0-9_-]{43}$/

/** RFC 6749 Appendix A.1 VSCHAR, bounded. */
export const CLIENT_ID_PATTERN = /^[\x20-\x7e]{1,64}$/
