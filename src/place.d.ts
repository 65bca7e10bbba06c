/**
 * @module
 * Where a request came from, as coarse as a person can check it: a country and a network name,
 * never an address. The runtime entry supplies them (on Workers from `request.cf`); a runtime that
 * knows nothing supplies nothing, and the pages then say nothing about it.
 */
/** A request's country (ISO 3166-1 alpha-2) and network (its autonomous system's organisation). */
export interface Place {
    readonly country?: string;
    readonly network?: string;
}
/** What a runtime says of a request's place, unchecked: {@link cleanPlace} keeps what can be shown. */
export interface RawPlace {
    readonly country?: unknown;
    readonly network?: unknown;
}
/** Reads a request's place; from the runtime entry. */
export type PlaceOf = (request: Request) => RawPlace | undefined;
/**
 * Keeps only what can be shown truthfully: a two-letter country that is a country, and a network
 * name of printable characters, bounded. Returns `undefined` when nothing is left.
 */
export declare function cleanPlace(place: RawPlace | undefined): Place | undefined;
/** How two places differ, where both are known: a country differs, only the network, or nothing said. */
export type PlaceDifference = 'country' | 'network' | 'none';
/** Compares a device's place with the browser's; unknown on either side says `none`. */
export declare function placeDifference(device: Place | undefined, browser: Place | undefined): PlaceDifference;
/** A country's English name (`DE` → `Germany`), or its code where the runtime has no names. */
export declare function countryName(code: string): string;
