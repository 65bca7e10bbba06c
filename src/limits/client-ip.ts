/**
 * @module
 * The rate-limit key for a client address. The address itself comes from the runtime entry
 * (`CF-Connecting-IP` on Workers, the socket's peer on Deno), never from a header read here.
 */

/** Finds the client address of a request; supplied by the runtime entry. */
export type ClientIpOf = (request: Request) => string | undefined

/** The key for requests whose entry could not name a client address: they share one bucket. */
export const UNKNOWN_CLIENT = 'unknown'

/**
 * The limiter key for an address: IPv4 as is, IPv6 by its /64 prefix, because one subscriber
 * usually holds a whole /64 and could otherwise rotate through 2^64 keys.
 *
 * @example
 * clientKey('2001:db8:1:2:aaaa::1') // '2001:db8:1:2::/64'
 */
export function clientKey(address: string | undefined): string {
  if (address === undefined || address === '') return UNKNOWN_CLIENT
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)
  if (mapped?.[1]) return mapped[1]
  if (!address.includes(':')) return address
  const hextets = expandIpv6(address.replace(/^\[|\]$/g, '').split('%')[0] ?? '')
  return hextets ? `${hextets.slice(0, 4).join(':')}::/64` : UNKNOWN_CLIENT
}

function expandIpv6(address: string): string[] | null {
  const halves = address.split('::')
  if (halves.length > 2) return null
  const head = halves[0] ? halves[0].split(':') : []
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : []
  const missing = 8 - head.length - tail.length
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return null
  const hextets = [...head, ...Array<string>(missing).fill('0'), ...tail]
  if (!hextets.every((part) => /^[0-9a-f]{1,4}$/i.test(part))) return null
  return hextets.map((part) => Number.parseInt(part, 16).toString(16))
}
