/**
 * The hold policy on its own: the `Prefer: wait` parser (RFC 7240), who is held for how long, and
 * the per-flow and per-isolate caps. The waiting itself is in the contract cases (held.cases.ts).
 */
import { describe, expect, it } from 'vitest'
import { holdPlan, HoldRegistry, MAX_HELD_PICKUPS, preferredWait } from '../../src/held-pickup.ts'
import { MAX_HELD_PICKUPS_PER_FLOW } from '../../src/store.ts'

const SETTINGS = { pickupHoldSeconds: 20, deviceHoldSeconds: 15 }

describe('preferredWait (RFC 7240 §2, §4.3)', () => {
  it('reads the first wait among other preferences, in any case, with optional whitespace and quotes', () => {
    expect(preferredWait('wait=20')).toBe(20)
    expect(preferredWait('respond-async, wait=5')).toBe(5)
    expect(preferredWait('WAIT = 7 ; ignored=1')).toBe(7)
    expect(preferredWait('wait="12"')).toBe(12)
    expect(preferredWait('wait=3, wait=9')).toBe(3)
    expect(preferredWait('handling=lenient; note="a, wait=1", wait=4')).toBe(4)
    expect(preferredWait('wait=0')).toBe(0)
  })

  it('ignores a missing or malformed wait, and never makes a huge number', () => {
    for (const header of [undefined, '', 'respond-async', 'wait', 'wait=', 'wait=-1', 'wait=1.5', 'wait=5s', 'wait="5', 'waiting=5', 'x=wait=5']) {
      expect(preferredWait(header), String(header)).toBeUndefined()
    }
    expect(preferredWait(`wait=${'9'.repeat(400)}`)).toBe(999_999)
    expect(preferredWait(`${'"'.repeat(10_001)}, wait=5`)).toBeUndefined()
    expect(preferredWait(`${'a;'.repeat(50_000)}, wait=5`)).toBe(5)
  })
})

describe('holdPlan', () => {
  it('holds a Prefer: wait up to PICKUP_HOLD_SECONDS, a device poll without Prefer for DEVICE_HOLD_SECONDS, and nothing else', () => {
    expect(holdPlan('wait=5', false, SETTINGS)).toEqual({ seconds: 5, preferred: true })
    expect(holdPlan('wait=600', false, SETTINGS)).toEqual({ seconds: 20, preferred: true })
    expect(holdPlan('wait=600', true, SETTINGS)).toEqual({ seconds: 20, preferred: true })
    expect(holdPlan(undefined, true, SETTINGS)).toEqual({ seconds: 15, preferred: false })
    expect(holdPlan(undefined, false, SETTINGS)).toBeNull()
    expect(holdPlan('wait=0', true, SETTINGS)).toBeNull()
    expect(holdPlan('wait=5', false, { pickupHoldSeconds: 0, deviceHoldSeconds: 15 })).toBeNull()
    expect(holdPlan(undefined, true, { pickupHoldSeconds: 20, deviceHoldSeconds: 0 })).toBeNull()
  })
})

describe('HoldRegistry', () => {
  it(`holds ${MAX_HELD_PICKUPS_PER_FLOW} per flow and ${MAX_HELD_PICKUPS} in all by default`, () => {
    const registry = new HoldRegistry()
    const flow = [registry.enter('a'), registry.enter('a')]
    expect(flow.every(Boolean)).toBe(true)
    expect(registry.enter('a')).toBeNull()
    for (let index = 2; index < MAX_HELD_PICKUPS; index++) expect(registry.enter(`flow-${index}`)).not.toBeNull()
    expect(registry.size).toBe(MAX_HELD_PICKUPS)
    expect(registry.enter('another')).toBeNull()
    flow[0]?.()
    expect(registry.enter('another')).not.toBeNull()
  })

  it('gives a place back once, however often its release is called', () => {
    const registry = new HoldRegistry({ perFlow: 1, total: 2 })
    const release = registry.enter('a')
    release?.()
    release?.()
    expect(registry.size).toBe(0)
    expect(registry.enter('a')).not.toBeNull()
    expect(registry.enter('a')).toBeNull()
    expect(registry.enter('b')).not.toBeNull()
    expect(registry.enter('c')).toBeNull()
    expect(() => new HoldRegistry({ perFlow: 0, total: 1 })).toThrow(RangeError)
  })
})
