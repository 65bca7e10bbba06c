import type { Env as RelayEnv } from '../src/index.ts'

declare global {
  namespace Cloudflare {
    interface Env extends RelayEnv {
      readonly AUTH_CODES: KVNamespace
      readonly AUTH_FLOWS: DurableObjectNamespace<import('../src/index.ts').AuthFlows>
    }
    interface GlobalProps {
      mainModule: typeof import('../src/index.ts')
    }
  }
}
