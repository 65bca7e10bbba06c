/**
 * The signed state: round trip, tampering anywhere, keys and rotation, expiry, malformed input.
 */
import { describe, expect, it } from 'vitest'
import { toBase64Url } from '../../src/base64url.ts'
import { RelayError } from '../../src/errors.ts'
import { importStateKeys, signState, verifyState } from '../../src/state.ts'
import type { StateKeys, StatePayload } from '../../src/state.ts'

const SECRET = 'state-test-secret-0123456789abcdef-0000'
const OTHER_SECRET = 'state-test-secret-0123456789abcdef-1111'
const NOW = 1_800_000_000
const PAYLOAD: StatePayload = {
  iat: NOW,
  exp: NOW + 600,
  cc: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  sc: 'api read',
  bh: 'q1w2e3r4t5y6u7i8o9p0as',
  rt: 'https://app.example.com/done',
}

async function errorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    if (error instanceof RelayError) return error.code
    throw error
  }
  return 'accepted'
}

/** Signs arbitrary payload bytes with a real key, to reach the checks behind the signature. */
async function signRaw(keys: StateKeys, payload: string, version = 'v1'): Promise<string> {
  const signed = `${version}.${keys.current.kid}.${toBase64Url(new TextEncoder().encode(payload))}`
  const signature = await crypto.subtle.sign('HMAC', keys.current.key, new TextEncoder().encode(signed))
  return `${signed}.${toBase64Url(signature)}`
}

describe('signState / verifyState', () => {
  it('round-trips a payload with and without return_to', async () => {
    const keys = await importStateKeys([SECRET])
    expect(await verifyState(keys, await signState(keys, PAYLOAD), NOW)).toEqual(PAYLOAD)
    const { rt: _dropped, ...withoutReturnTo } = PAYLOAD
    const verified = await verifyState(keys, await signState(keys, withoutReturnTo), NOW)
    expect(verified).toEqual(withoutReturnTo)
    expect('rt' in verified).toBe(false)
  })

  it('round-trips the device flag, with and without return_to', async () => {
    const keys = await importStateKeys([SECRET])
    const { rt: _dropped, ...base } = PAYLOAD
    for (const payload of [{ ...base, dv: true as const }, { ...PAYLOAD, dv: true as const }]) {
      expect(await verifyState(keys, await signState(keys, payload), NOW)).toEqual(payload)
    }
    expect('dv' in (await verifyState(keys, await signState(keys, PAYLOAD), NOW))).toBe(false)
  })

  it('round-trips the pick flag with every combination of device flag and return_to, in one spelling each', async () => {
    const keys = await importStateKeys([SECRET])
    const { rt: _dropped, ...base } = PAYLOAD
    const spellings = new Set<string>()
    for (const payload of [{ ...base, pk: true as const }, { ...PAYLOAD, pk: true as const }, { ...base, dv: true as const, pk: true as const }, { ...PAYLOAD, dv: true as const, pk: true as const }]) {
      const state = await signState(keys, payload)
      expect(await verifyState(keys, state, NOW)).toEqual(payload)
      spellings.add(atob((state.split('.')[2] ?? '').replace(/-/g, '+').replace(/_/g, '/')))
    }
    expect([...spellings].map((json) => JSON.parse(json).slice(5))).toEqual([[null, 0, 1], [PAYLOAD.rt, 0, 1], [null, 1, 1], [PAYLOAD.rt, 1, 1]])
    expect('pk' in (await verifyState(keys, await signState(keys, { ...PAYLOAD, dv: true }), NOW))).toBe(false)
  })

  it('round-trips a payload that is not ASCII (signed as UTF-8), and rejects invalid UTF-8', async () => {
    const keys = await importStateKeys([SECRET])
    const payload = { ...PAYLOAD, sc: 'api lecture-écriture', rt: 'https://app.example.com/été' }
    expect(await verifyState(keys, await signState(keys, payload), NOW)).toEqual(payload)
    const utf8 = `[${NOW},${NOW + 600},"${PAYLOAD.cc}","api","${PAYLOAD.bh}","https://app.example.com/\u00e9t\u00e9"]`
    expect(await verifyState(keys, await signRaw(keys, utf8), NOW)).toMatchObject({ rt: 'https://app.example.com/\u00e9t\u00e9' })
    // A lone continuation byte: the signature is right, the payload is not UTF-8.
    const signed = `v1.${keys.current.kid}.${toBase64Url(new Uint8Array([0x5b, 0x80, 0x5d]))}`
    const forged = `${signed}.${toBase64Url(await crypto.subtle.sign('HMAC', keys.current.key, new TextEncoder().encode(signed)))}`
    expect(await errorCode(verifyState(keys, forged, NOW))).toBe('invalid_state')
  })

  it('keeps 200 signs and verifies in flight apart (the HMAC inputs share one buffer)', async () => {
    const keys = await importStateKeys([SECRET, OTHER_SECRET])
    const payloads = Array.from({ length: 200 }, (_, i) => ({ ...PAYLOAD, cc: `${PAYLOAD.cc.slice(0, 40)}${String(i).padStart(3, '0')}`, ...(i % 3 ? {} : { rt: undefined }) }))
    const states = await Promise.all(payloads.map((payload) => signState(keys, payload)))
    const verified = await Promise.all(states.map((state) => verifyState(keys, state, NOW)))
    expect(verified.map((payload) => payload.cc)).toEqual(payloads.map((payload) => payload.cc))
    // Interleaved with forgeries: every forged state fails and every genuine one passes.
    const forged = states.map((state) => `${state.slice(0, -2)}${state.endsWith('AA') ? 'BA' : 'AA'}`)
    const outcomes = await Promise.all([...states, ...forged].map((state) => errorCode(verifyState(keys, state, NOW))))
    expect(outcomes.slice(0, 200).every((code) => code === 'accepted')).toBe(true)
    expect(outcomes.slice(200).every((code) => code === 'invalid_state')).toBe(true)
  })

  it('has the documented shape', async () => {
    const keys = await importStateKeys([SECRET])
    const state = await signState(keys, PAYLOAD)
    expect(state).toMatch(/^v1\.[\w-]{8}\.[\w-]+\.[\w-]{43}$/)
    expect(state.split('.')[1]).toBe(keys.current.kid)
  })

  it('rejects a change to any single character', async () => {
    const keys = await importStateKeys([SECRET])
    const state = await signState(keys, PAYLOAD)
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.'
    for (let i = 0; i < state.length; i++) {
      for (const replacement of [alphabet[(alphabet.indexOf(state[i] ?? 'A') + 1) % alphabet.length], alphabet[(alphabet.indexOf(state[i] ?? 'A') + 33) % alphabet.length]]) {
        const tampered = state.slice(0, i) + replacement + state.slice(i + 1)
        expect(await errorCode(verifyState(keys, tampered, NOW)), `position ${i}`).toBe('invalid_state')
      }
    }
  })

  it('rejects truncation and extension', async () => {
    const keys = await importStateKeys([SECRET])
    const state = await signState(keys, PAYLOAD)
    for (const bad of [state.slice(0, -1), `${state}A`, `${state}.`, `.${state}`, state.replace('.', '..')]) {
      expect(await errorCode(verifyState(keys, bad, NOW))).toBe('invalid_state')
    }
  })

  it('rejects a state signed with another key', async () => {
    const mine = await importStateKeys([SECRET])
    const theirs = await importStateKeys([OTHER_SECRET])
    expect(await errorCode(verifyState(mine, await signState(theirs, PAYLOAD), NOW))).toBe('invalid_state')
  })

  it('rejects a forged state that borrows the right key id', async () => {
    const mine = await importStateKeys([SECRET])
    const theirs = await importStateKeys([OTHER_SECRET])
    const [, , body, signature] = (await signState(theirs, PAYLOAD)).split('.')
    expect(await errorCode(verifyState(mine, `v1.${mine.current.kid}.${body}.${signature}`, NOW))).toBe('invalid_state')
  })

  it('accepts the previous key during rotation, and only while it is configured', async () => {
    const before = await importStateKeys([SECRET])
    const state = await signState(before, PAYLOAD)
    const rotating = await importStateKeys([OTHER_SECRET, SECRET])
    expect(await verifyState(rotating, state, NOW)).toEqual(PAYLOAD)
    expect((await signState(rotating, PAYLOAD)).split('.')[1]).toBe(rotating.current.kid)
    expect(rotating.current.kid).not.toBe(before.current.kid)
    const rotated = await importStateKeys([OTHER_SECRET])
    expect(await errorCode(verifyState(rotated, state, NOW))).toBe('invalid_state')
  })

  it('derives a stable key id from the key', async () => {
    const [a, b] = [await importStateKeys([SECRET]), await importStateKeys([SECRET])]
    expect(a.current.kid).toBe(b.current.kid)
    expect(a.current.kid).not.toContain(SECRET.slice(0, 4))
  })

  it('rejects an expired state, at exp exactly', async () => {
    const keys = await importStateKeys([SECRET])
    const state = await signState(keys, PAYLOAD)
    expect(await verifyState(keys, state, PAYLOAD.exp - 1)).toEqual(PAYLOAD)
    expect(await errorCode(verifyState(keys, state, PAYLOAD.exp))).toBe('expired_state')
  })

  it('checks the signature before expiry', async () => {
    const keys = await importStateKeys([SECRET])
    const state = await signState(await importStateKeys([OTHER_SECRET]), PAYLOAD)
    expect(await errorCode(verifyState(keys, state, PAYLOAD.exp + 1))).toBe('invalid_state')
  })

  it('rejects a state issued in the future beyond clock skew', async () => {
    const keys = await importStateKeys([SECRET])
    const state = await signState(keys, { ...PAYLOAD, iat: NOW + 61, exp: NOW + 700 })
    expect(await errorCode(verifyState(keys, state, NOW))).toBe('invalid_state')
    expect(await verifyState(keys, await signState(keys, { ...PAYLOAD, iat: NOW + 30 }), NOW)).toBeTruthy()
  })

  it('rejects malformed states without throwing anything but invalid_state', async () => {
    const keys = await importStateKeys([SECRET])
    const malformed = ['', '.', 'v1', 'v1.kid.body', 'v1...', 'v1.a.b.c.d', 'v1.%%%.body.sig', 'x'.repeat(5000), `v1.${keys.current.kid}.@@@.${'A'.repeat(43)}`]
    for (const state of malformed) {
      expect(await errorCode(verifyState(keys, state, NOW)), state.slice(0, 20)).toBe('invalid_state')
    }
  })

  it('rejects correctly signed payloads of the wrong shape or version', async () => {
    const keys = await importStateKeys([SECRET])
    const wrong = [
      'not json',
      '{"iat":1,"exp":2,"cc":"a","sc":"b","bh":"c"}',
      '[1,2,"cc","sc"]',
      `[${NOW},"${NOW + 600}","cc","sc","bh"]`,
      `[${NOW},${NOW + 600},1,"sc","bh"]`,
      `[${NOW},${NOW + 600},"cc","sc","bh",7]`,
      `[${NOW},${NOW + 600},"cc","sc","bh","rt","extra"]`,
      `[${NOW},${NOW + 600},"cc","sc","bh",null]`,
      `[${NOW},${NOW + 600},"cc","sc","bh",null,2]`,
      `[${NOW},${NOW + 600},"cc","sc","bh",null,true]`,
      `[${NOW},${NOW + 600},"cc","sc","bh",null,1,2]`,
      `[${NOW},${NOW + 600},"cc","sc","bh",null,1,1,1]`,
      `[${NOW},${NOW + 600},"cc","sc","bh",null,0]`,
      `[${NOW},${NOW + 600},"cc","sc","bh","rt",0]`,
      `[${NOW},${NOW + 600},"cc","sc","bh",null,0,0]`,
      `[${NOW},${NOW + 600},"cc","sc","bh",null,0,true]`,
      `[${NOW}.5,${NOW + 600},"cc","sc","bh"]`,
    ]
    for (const payload of wrong) {
      expect(await errorCode(verifyState(keys, await signRaw(keys, payload), NOW)), payload).toBe('invalid_state')
    }
    const good = `[${NOW},${NOW + 600},"cc","sc","bh"]`
    expect(await errorCode(verifyState(keys, await signRaw(keys, good), NOW))).toBe('accepted')
    expect(await errorCode(verifyState(keys, await signRaw(keys, good, 'v2'), NOW))).toBe('invalid_state')
  })
})
