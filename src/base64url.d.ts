/**
 * @module
 * Canonical, unpadded base64url (RFC 4648 §5) with lookup tables, built once per isolate.
 */
/** Encodes bytes as unpadded base64url. */
export declare function toBase64Url(bytes: ArrayBuffer | Uint8Array): string;
/**
 * Base64url of `text`'s bytes when it is all ASCII (as JSON of ASCII values is), or `null`: one
 * pass over the characters, with no byte array in between.
 */
export declare function asciiToBase64Url(text: string): string | null;
/**
 * Decodes unpadded base64url, or returns `null`. Only the canonical encoding is accepted (no
 * padding, no other characters, unused trailing bits zero), so a signed token has exactly one
 * spelling and no character can be altered without detection.
 */
export declare function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | null;
/** How many bytes `text` decodes to, or -1 if no base64url text has its length. */
export declare function base64UrlDecodedLength(text: string): number;
/**
 * Decodes canonical unpadded base64url (as {@link fromBase64Url}) into `target`, whose length
 * must be {@link base64UrlDecodedLength}; false, with `target` partly written, if it is not.
 */
export declare function decodeBase64UrlInto(text: string, target: Uint8Array): boolean;
/** BASE64URL(SHA-256(ASCII(text))), the RFC 7636 §4.2 S256 transform. */
export declare function sha256Base64Url(text: string): Promise<string>;
