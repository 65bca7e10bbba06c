/** The repository's root. */
export declare const ROOT: string;
/** Set with `wrangler secret put`, so never in `[vars]`. */
export declare const SECRETS: readonly ["UNITY_CLIENT_SECRET", "STATE_SECRET", "REFRESH_SEAL_SECRET"];
/** Required settings without a default, which the dashboard may hold instead of `[vars]`. */
export declare const REQUIRED_VARS: readonly ["UNITY_URL", "UNITY_CLIENT_ID"];
/** A settings file that cannot be read; `message` is one line for the operator. */
export declare class SettingsFileError extends Error {
    constructor(file: string, cause: unknown);
}
/** wrangler.toml's `[vars]`, the string ones. */
export declare function wranglerVars(): Record<string, string>;
/**
 * A dotenv file's settings (Node's `parseEnv`: `NAME=value` lines, quotes for spaces).
 *
 * @throws {SettingsFileError} when the file cannot be read.
 */
export declare function readSettingsFile(file: string): Record<string, string>;
/** wrangler.toml's `[vars]` with `file`'s settings on top. */
export declare function deploymentSettings(file: string): Record<string, string>;
