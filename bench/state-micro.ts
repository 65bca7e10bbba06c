/**
 * @module
 * State sign plus verify against one raw WebCrypto HMAC sign plus verify of the same bytes, one at
 * a time and with 64 in flight. Bundled by the runner and run on Node and on Deno; prints JSON.
 */
import { importStateKeys, signState, verifyState } from '../src/state.ts'

const SECRET = 'bench-only-state-secret-0123456789abcdef'
const NOW = Math.floor(Date.now() / 1000)
const PAYLOAD = { iat: NOW, exp: NOW + 600, cc: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', sc: 'api', bh: 'q1w2e3r4t5y6u7i8o9p0as' }
const OPERATIONS = 256
const REPEATS = 15

const keys = await importStateKeys([SECRET])
const key = keys.current.key
const sample = await signState(keys, PAYLOAD)
const signedPart = new TextEncoder().encode(sample.slice(0, sample.lastIndexOf('.')))

async function raw(): Promise<void> {
  const signature = await crypto.subtle.sign('HMAC', key, signedPart)
  if (!(await crypto.subtle.verify('HMAC', key, signature, signedPart))) throw new Error('raw verify failed')
}

async function relay(): Promise<void> {
  await verifyState(keys, await signState(keys, PAYLOAD), NOW)
}

async function timed(operation: () => Promise<void>, inFlight: number): Promise<number> {
  let left = OPERATIONS
  const worker = async () => {
    while (left-- > 0) await operation()
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: inFlight }, worker))
  return ((performance.now() - started) * 1000) / OPERATIONS
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!
const samples = { rawSequential: [] as number[], relaySequential: [] as number[], raw64: [] as number[], relay64: [] as number[] }
const ratios = { sequential: [] as number[], inFlight64: [] as number[] }
await timed(raw, 1)
await timed(relay, 1)
// Short alternating chunks, compared pairwise: a noisy neighbour slows both sides of a pair alike.
for (let i = 0; i < REPEATS; i++) {
  const rawSequential = await timed(raw, 1)
  const relaySequential = await timed(relay, 1)
  const raw64 = await timed(raw, 64)
  const relay64 = await timed(relay, 64)
  samples.rawSequential.push(rawSequential)
  samples.relaySequential.push(relaySequential)
  samples.raw64.push(raw64)
  samples.relay64.push(relay64)
  ratios.sequential.push(relaySequential / rawSequential)
  ratios.inFlight64.push(relay64 / raw64)
}
console.log(
  JSON.stringify({
    ...Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)])),
    ratioSequential: median(ratios.sequential),
    ratio64: median(ratios.inFlight64),
  }),
)
