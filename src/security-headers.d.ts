/** Every response that is not an HTML page: nothing may load, submit or frame anything. */
export declare const API_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/**
 * An HTML page's policy: its own inline stylesheet, forms only to `formAction` (default none), and
 * with `script` its own inline script (the confirmation page's intent gate), under the same nonce.
 */
export declare function pageCsp(nonce: string, formAction?: string, script?: boolean): string;
/** What {@link cspNonce} needs of a Hono context (kept structural, so this module imports no route types). */
interface NonceHolder {
    get(key: 'secureHeadersNonce'): string | undefined;
    set(key: 'secureHeadersNonce', value: string): void;
}
/**
 * This response's CSP nonce (128 random bits), made when a page first asks for it, so a JSON
 * answer or a redirect pays nothing for it. {@link setSecurityHeaders} puts it in the policy.
 */
export declare function cspNonce(c: NonceHolder): string;
/**
 * A response that is not an HTML page, with every security header already in place. The headers
 * are copied from a list made once per isolate and content type: workerd copies a `Headers` in
 * one call where 14 `set()` calls cross into its C++ 14 times. `extra` (e.g. `Retry-After`) is
 * set on top.
 */
export declare function apiResponse(body: string, status: number, contentType: string, extra?: Readonly<Record<string, string>>): Response;
/** Whether `response` came from {@link apiResponse} unchanged, so its security headers are set. */
export declare function hasSecurityHeaders(response: Response): boolean;
/**
 * Sets the security headers on a finished response, in place (`c.header()` after `next()` would
 * copy the whole Response). An HTML page made with `nonce` gets a policy allowing its stylesheet,
 * `formAction` and, with `script`, its inline script; anything else gets {@link API_CSP}.
 */
export declare function setSecurityHeaders(headers: Headers, nonce: string | undefined, formAction: string | undefined, script?: boolean): void;
export {};
