import type { Env as RelayEnv } from '../src/index.ts'

declare global {
  namespace Cloudflare {
    /** wrangler.toml's bindings and variables (worker-configuration.d.ts), plus the settings vitest.config.ts binds. */
    interface Env extends Omit<RelayEnv, keyof WranglerEnv> {
      /** Fuzz cases per endpoint (vitest.config.ts). */
      readonly FUZZ_RUNS: string
    }
  }
}
