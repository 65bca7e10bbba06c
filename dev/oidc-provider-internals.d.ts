/** oidc-provider's built-in in-memory adapter, which the stand-in instantiates per server. */
declare module 'oidc-provider/lib/adapters/memory_adapter.js' {
  import type { Adapter } from 'oidc-provider'
  export function createMemoryAdapter(): new (name: string) => Adapter
}
