/**
 * Money as counters hold it: integer minor units per ISO 4217 currency (cents, yen, fils),
 * so sums are exact.
 *
 * @module
 */

const digitsCache = new Map<string, number>();

/** The minor-unit digits of a currency (EUR 2, JPY 0, KWD 3); 2 for codes Intl does not know. */
export function minorDigits(currency: string): number {
  let digits = digitsCache.get(currency);
  if (digits === undefined) {
    try {
      digits = new Intl.NumberFormat("en", { style: "currency", currency })
        .resolvedOptions().maximumFractionDigits ?? 2;
    } catch {
      digits = 2;
    }
    digitsCache.set(currency, digits);
  }
  return digits;
}

/** A value in minor units, rounded; 0 for negative or non-finite values (refunds are not revenue). */
export function toMinorUnits(value: number, currency: string): number {
  if (!Number.isFinite(value) || value <= 0) return 0;
  return Math.round(value * 10 ** minorDigits(currency));
}

/** Minor units back as an amount in the currency's major unit. */
export function fromMinorUnits(minor: number, currency: string): number {
  const digits = minorDigits(currency);
  return Number((minor / 10 ** digits).toFixed(digits));
}
