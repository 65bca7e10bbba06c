/**
 * @module
 * Values shared by the bench runner (Node) and both bench servers. No import from src/, so the
 * runner can load it without a bundler.
 */

/** The relay settings every bench server uses. */
export interface BenchSettings {
  readonly UNITY_URL: string
  readonly UNITY_CLIENT_ID: string
  readonly UNITY_CLIENT_SECRET: string
  readonly STATE_SECRET: string
  readonly [name: string]: string
}

/** Settings shared by both bench servers; `UNITY_URL` is replaced by each entry's stub. */
export const BENCH_SETTINGS: BenchSettings = {
  UNITY_URL: 'https://unity.bench/vu/public',
  UNITY_CLIENT_ID: 'relay-bench',
  UNITY_CLIENT_SECRET: 'bench-only client secret',
  STATE_SECRET: 'bench-only-state-secret-0123456789abcdef',
  REFRESH_SEAL_SECRET: 'bench-only-refresh-seal-secret-0123456789abcdef',
  // All load comes from one address: per-address limits (Deno's settings; on workerd the
  // [[ratelimits]] bindings are raised in serve-workerd.ts) must not answer 429 to it.
  RATE_LIMIT_AUTHORIZE: '1000000/60',
  RATE_LIMIT_CALLBACK: '1000000/60',
  RATE_LIMIT_TOKEN: '1000000/60',
  RATE_LIMIT_REFRESH: '1000000/60',
  RATE_LIMIT_PICKUP: '1000000/60',
  RATE_LIMIT_DEVICE: '1000000/60',
}

/** The token response the stub Unity gives to every call. */
export const STUB_TOKEN_BODY = '{"access_token":"bench-access-token","token_type":"bearer","expires_in":3600,"refresh_token":"bench-refresh-token"}'

/** The verifier of seeded flow `index` in the set `prefix` (43+ unreserved characters). */
export function benchVerifier(prefix: string, index: number): string {
  return `bench-${prefix}-${index}-`.padEnd(48, 'v')
}
