/**
 * Unity's token answer: the refresh token is swapped in the raw text and every other byte stays,
 * over generated answers (FUZZ_RUNS of them) and the cases that must be refused.
 */
import { env } from 'cloudflare:workers'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { RelayError } from '../../src/errors.ts'
import { MAX_ANSWER_DEPTH, readTokenAnswer, withRefreshToken } from '../../src/token-answer.ts'
import { spelledAnswer } from '../fuzz/parsers.ts'

const numRuns = Number(env.FUZZ_RUNS)
const SEALED = 'v1.AbCdEfGh.c2VhbGVkLXRva2VuLWJ5dGVz'
const sealedToken = fc.stringMatching(/^v1\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]{40,300}$/)

function refusal(text: string): string {
  try {
    readTokenAnswer(text)
  } catch (error) {
    if (error instanceof RelayError && error.code === 'upstream_invalid_response') return error.description
    throw error
  }
  throw new Error('the answer was read')
}

describe('readTokenAnswer / withRefreshToken', () => {
  it('generates what JSON.parse reads: the property below tests the scanner, not the generator', () => {
    fc.assert(
      fc.property(spelledAnswer, ({ text, refresh }) => {
        const parsed = JSON.parse(text) as Record<string, unknown>
        expect(parsed.refresh_token).toBe(refresh?.value)
        if (refresh) expect(text.startsWith(refresh.before) && text.endsWith(refresh.after)).toBe(true)
      }),
      { numRuns: Math.min(numRuns, 500) },
    )
  })

  it(`replaces only the refresh token's value: every other byte stays, and JSON.parse sees only that change (${numRuns} answers)`, () => {
    fc.assert(
      fc.property(spelledAnswer, sealedToken, ({ text, refresh }, sealed) => {
        const answer = readTokenAnswer(text)
        expect(answer.refreshToken?.value).toBe(refresh?.value)
        const out = withRefreshToken(answer, sealed)
        const expected = JSON.parse(text) as Record<string, unknown>
        expected.refresh_token = sealed
        expect(JSON.parse(out)).toStrictEqual(expected)
        if (refresh) {
          expect(out).toBe(`${refresh.before}"${sealed}"${refresh.after}`)
        } else {
          const inserted = `${answer.empty ? '' : ','}"refresh_token":"${sealed}"`
          expect(out.slice(0, answer.insertAt) + out.slice(answer.insertAt + inserted.length)).toBe(text)
          expect(out.slice(answer.insertAt, answer.insertAt + inserted.length)).toBe(inserted)
        }
      }),
      { numRuns },
    )
  })

  it('keeps Unity’s spelling of everything else: numbers, escapes, order, unknown and nested members, whitespace', () => {
    const unity = ' {"access_token":"at\\u002d1","token_type":"bearer","expires_in":2592000,"ratio":1.0,"big":1e3,"neg":-0,"refresh_token":"rt\\/1","n":{"refresh_token":"x"},"scope":"api"}\r\n'
    const answer = readTokenAnswer(unity)
    expect(answer.refreshToken?.value).toBe('rt/1')
    expect(answer.scope).toBe('api')
    expect(withRefreshToken(answer, SEALED)).toBe(unity.replace('"rt\\/1"', `"${SEALED}"`))
  })

  it('adds a missing refresh_token after the last member, or inside an empty object', () => {
    expect(withRefreshToken(readTokenAnswer('{"access_token":"a" , "expires_in":1 }'), SEALED)).toBe(`{"access_token":"a" , "expires_in":1,"refresh_token":"${SEALED}" }`)
    expect(withRefreshToken(readTokenAnswer(' { } '), SEALED)).toBe(` {"refresh_token":"${SEALED}" } `)
  })

  it('reads a refresh_token name spelled with escapes, and the last scope as JSON.parse does', () => {
    const answer = readTokenAnswer('{"refresh\\u005ftoken":"rt","scope":"a","scope":"b c"}')
    expect(answer.refreshToken).toEqual({ value: 'rt', start: 22, end: 26 })
    expect(answer.scope).toBe('b c')
    expect(readTokenAnswer('{"scope":["api"]}').scope).toBeUndefined()
  })

  it('refuses two refresh_token members, one that is not a non-empty string, and anything but one JSON object', () => {
    expect(refusal('{"refresh_token":"a","refresh_token":"b"}')).toMatch(/more than one refresh_token/)
    expect(refusal('{"refresh_token":"a","refresh\\u005Ftoken":"a"}')).toMatch(/more than one refresh_token/)
    for (const value of ['null', '1', '""', '["a"]', '{"a":1}']) expect(refusal(`{"refresh_token":${value}}`)).toMatch(/refresh_token that is not/)
    for (const text of ['[]', '"a"', '1', 'null', '[{"refresh_token":"a"}]']) expect(refusal(text), text).toMatch(/not a JSON object the relay can read/)
    for (const text of ['', ' ', '{', '{}}', '{} {}', '{"a"}', '{"a":}', '{"a":1,}', '{,}', '{"a":01}', '{"a":1.}', '{"a":.5}', '{"a":+1}', '{"a":1e}', '{"a":-}', '{"a":tru}', '{"a":"\\x"}', '{"a":"\\u12"}', '{"a":"\u0001"}', '{"a":"b}', "{'a':1}", '\ufeff{}', '{"a":[1,]}', '{"a":[1 2]}', '{"a":{"b"}}', '{"a":1}\u00a0', '{"a" 1}']) {
      expect(() => JSON.parse(text), text).toThrow()
      expect(refusal(text), text).toMatch(/not a JSON object the relay can read/)
    }
  })

  it(`follows nesting up to ${MAX_ANSWER_DEPTH} levels, with no recursion beyond`, () => {
    const nested = (depth: number) => `{"refresh_token":"rt","x":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`
    expect(readTokenAnswer(nested(MAX_ANSWER_DEPTH)).refreshToken?.value).toBe('rt')
    expect(refusal(nested(MAX_ANSWER_DEPTH + 1))).toMatch(/not a JSON object/)
    expect(refusal(`{"x":${'['.repeat(100_000)}}`)).toMatch(/not a JSON object/)
  })
})
