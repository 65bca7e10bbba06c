/**
 * @module
 * Where a request came from, as coarse as a person can check it: a country and a network name,
 * never an address. The runtime entry supplies them (on Workers from `request.cf`); a runtime that
 * knows nothing supplies nothing, and the pages then say nothing about it.
 */

/** A request's country (ISO 3166-1 alpha-2) and network (its autonomous system's organisation). */
export interface Place {
  readonly country?: string
  readonly network?: string
}

/** What a runtime says of a request's place, unchecked: {@link cleanPlace} keeps what can be shown. */
export interface RawPlace {
  readonly country?: unknown
  readonly network?: unknown
}

/** Reads a request's place; from the runtime entry. */
export type PlaceOf = (request: Request) => RawPlace | undefined

/** Longest network name kept: it is shown on a page and stored in a device record. */
const MAX_NETWORK_LENGTH = 80
const COUNTRY_PATTERN = /^[A-Z]{2}$/
/** Cloudflare's codes that name no country: unknown, and Tor. */
const NOT_A_COUNTRY = new Set(['XX', 'T1'])

/**
 * Keeps only what can be shown truthfully: a two-letter country that is a country, and a network
 * name of printable characters, bounded. Returns `undefined` when nothing is left.
 */
export function cleanPlace(place: RawPlace | undefined): Place | undefined {
  if (!place) return undefined
  const country = typeof place.country === 'string' && COUNTRY_PATTERN.test(place.country) && !NOT_A_COUNTRY.has(place.country) ? place.country : undefined
  const network = typeof place.network === 'string' ? printable(place.network) : undefined
  if (country === undefined && network === undefined) return undefined
  return { ...(country === undefined ? {} : { country }), ...(network === undefined ? {} : { network }) }
}

/** How two places differ, where both are known: a country differs, only the network, or nothing said. */
export type PlaceDifference = 'country' | 'network' | 'none'

/** Compares a device's place with the browser's; unknown on either side says `none`. */
export function placeDifference(device: Place | undefined, browser: Place | undefined): PlaceDifference {
  if (device?.country !== undefined && browser?.country !== undefined && device.country !== browser.country) return 'country'
  if (device?.network !== undefined && browser?.network !== undefined && device.network !== browser.network) return 'network'
  return 'none'
}

let regionNames: Intl.DisplayNames | null | undefined

/** A country's English name (`DE` → `Germany`), or its code where the runtime has no names. */
export function countryName(code: string): string {
  if (regionNames === undefined) {
    try {
      regionNames = new Intl.DisplayNames(['en'], { type: 'region' })
    } catch {
      regionNames = null
    }
  }
  try {
    return regionNames?.of(code) ?? code
  } catch {
    return code
  }
}

function printable(text: string): string | undefined {
  const trimmed = text.replace(/[^\x20-\x7e\u00a0-\u024f]/g, '').trim().slice(0, MAX_NETWORK_LENGTH).trim()
  return trimmed === '' ? undefined : trimmed
}
