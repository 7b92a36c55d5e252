/**
 * Calendar days in an IANA time zone, from the runtime's Intl data (no dependency): where a
 * local day starts in UTC, with daylight-saving days of 23 or 25 hours and zones whose offset
 * is not whole hours (Asia/Kolkata, UTC+5:30).
 *
 * @module
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let format = formatters.get(tz);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(tz, format);
  }
  return format;
}

/** Whether the runtime knows an IANA time zone name. */
export function isTimeZone(tz: string): boolean {
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

interface LocalTime {
  year: number;
  month: number;
  day: number;
  /** The local wall time read as if it were UTC, epoch ms. */
  wallMs: number;
}

function localTime(tz: string, at: number): LocalTime {
  const parts: Record<string, number> = {};
  for (const part of formatter(tz).formatToParts(at)) {
    if (part.type !== "literal") parts[part.type] = Number(part.value);
  }
  const { year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0 } = parts;
  return { year, month, day, wallMs: Date.UTC(year, month - 1, day, hour, minute, second) };
}

/** The zone's offset from UTC at an instant, ms (Asia/Kolkata: +19,800,000). */
export function zoneOffsetMs(tz: string, at: number): number {
  const whole = Math.floor(at / 1000) * 1000;
  return localTime(tz, whole).wallMs - whole;
}

/** The UTC instant a local wall time (given as if UTC) falls on in a zone. */
function instantOfWallTime(tz: string, wallMs: number): number {
  let at = wallMs - zoneOffsetMs(tz, wallMs);
  at = wallMs - zoneOffsetMs(tz, at);
  return at;
}

/** The UTC instant the local day holding `at` starts in a zone. */
export function zonedDayStart(tz: string, at: number): number {
  const { year, month, day } = localTime(tz, at);
  return instantOfWallTime(tz, Date.UTC(year, month - 1, day));
}

/** The start of the local day `days` days after the one starting at `dayStart` (negative: before). */
export function addZonedDays(tz: string, dayStart: number, days: number): number {
  // Noon of the day is safely inside it whatever the day's length.
  const { year, month, day } = localTime(tz, dayStart + 12 * 3_600_000);
  return instantOfWallTime(tz, Date.UTC(year, month - 1, day + days));
}

/** The local calendar date (`YYYY-MM-DD`) of an instant in a zone. */
export function zonedDate(tz: string, at: number): string {
  const { year, month, day } = localTime(tz, at);
  return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${
    String(day).padStart(2, "0")
  }`;
}
