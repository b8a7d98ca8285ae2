/**
 * Time formatting for the UI. The server renders in UTC with a fixed locale, so its markup is
 * the same wherever it runs; after hydration the browser switches to its own zone and locale.
 *
 * @module
 */

/** Where and how times are shown: an IANA time zone and a locale; unset means the browser's. */
export interface Clock {
  timeZone?: string;
  locale?: string;
}

/** The clock of server-rendered markup and the first client render, which must match it. */
export const UTC_CLOCK: Readonly<Clock> = { timeZone: "UTC", locale: "en-GB" };

/** The visitor's own clock, used once the page has hydrated. */
export const LOCAL_CLOCK: Readonly<Clock> = {};

const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(clock: Clock, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = JSON.stringify([clock.locale, clock.timeZone, options]);
  let format = formatters.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(clock.locale, { ...options, timeZone: clock.timeZone });
    formatters.set(key, format);
  }
  return format;
}

/** The calendar day of `at` on `clock`, as `YYYY-MM-DD`. */
export function dayKey(at: number, clock: Clock): string {
  const parts = formatter({ ...clock, locale: "en-GB" }, {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${part("year")}-${part("month")}-${part("day")}`;
}

/** The `YYYY-MM-DD` day before `day`. */
export function previousDay(day: string): string {
  const [year, month, date] = day.split("-").map(Number);
  return new Date(Date.UTC(year, month - 1, date) - DAY_MS).toISOString().slice(0, 10);
}

/**
 * A day divider's label: "Today", "Yesterday", the weekday and date within the current year
 * ("Monday, 3 March"), or the full date ("3 March 2024").
 */
export function dayLabel(day: string, now: number, clock: Clock): string {
  const today = dayKey(now, clock);
  if (day === today) return "Today";
  if (day === previousDay(today)) return "Yesterday";
  const [year, month, date] = day.split("-").map(Number);
  const noon = Date.UTC(year, month - 1, date, 12);
  const sameYear = day.slice(0, 4) === today.slice(0, 4);
  const options: Intl.DateTimeFormatOptions = sameYear
    ? { weekday: "long", day: "numeric", month: "long" }
    : { day: "numeric", month: "long", year: "numeric" };
  // The day is already a calendar date: format it in UTC so no zone can move it.
  return formatter({ locale: clock.locale, timeZone: "UTC" }, options).format(noon);
}

/** A message's time of day: "14:05 UTC" on the UTC clock, the visitor's own form otherwise. */
export function timeOfDay(at: number, clock: Clock): string {
  const text = formatter(clock, { hour: "numeric", minute: "2-digit" }).format(at);
  return clock.timeZone === "UTC" ? `${text} UTC` : text;
}

/** The full date and time, for a tooltip: "Monday, 3 March 2025 at 14:05 UTC". */
export function fullTime(at: number, clock: Clock): string {
  const text = formatter(clock, {
    weekday: "long",
    day: "numeric",
    month: "long",
    year: "numeric",
    hour: "numeric",
    minute: "2-digit",
  }).format(at);
  return clock.timeZone === "UTC" ? `${text} UTC` : text;
}

/**
 * How long ago `at` was, in words that do not depend on a time zone: "just now", "5 min ago",
 * "3 h ago", "2 days ago", "4 months ago", "2 years ago".
 */
export function relativeTime(at: number, now: number): string {
  const seconds = Math.max(0, (now - at) / 1000);
  if (seconds < 60) return "just now";
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.floor(hours / 24);
  if (days < 31) return days === 1 ? "1 day ago" : `${days} days ago`;
  const months = Math.floor(days / 30.44);
  if (months < 12) return months === 1 ? "1 month ago" : `${months} months ago`;
  const years = Math.floor(days / 365.25);
  return years === 1 ? "1 year ago" : `${years} years ago`;
}
