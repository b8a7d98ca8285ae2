import assert from "node:assert/strict";
import {
  dayKey,
  dayLabel,
  fullTime,
  previousDay,
  relativeTime,
  timeOfDay,
  UTC_CLOCK,
} from "./time.ts";

const NOW = Date.UTC(2025, 2, 5, 9, 30); // Wednesday 5 March 2025, 09:30 UTC
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

Deno.test("relativeTime - speaks in minutes, hours, days, months and years", () => {
  assert.equal(relativeTime(NOW, NOW), "just now");
  assert.equal(relativeTime(NOW - 59_000, NOW), "just now");
  assert.equal(relativeTime(NOW + 5_000, NOW), "just now");
  assert.equal(relativeTime(NOW - 5 * MINUTE, NOW), "5 min ago");
  assert.equal(relativeTime(NOW - 59 * MINUTE, NOW), "59 min ago");
  assert.equal(relativeTime(NOW - 3 * HOUR, NOW), "3 h ago");
  assert.equal(relativeTime(NOW - DAY, NOW), "1 day ago");
  assert.equal(relativeTime(NOW - 6 * DAY, NOW), "6 days ago");
  assert.equal(relativeTime(NOW - 45 * DAY, NOW), "1 month ago");
  assert.equal(relativeTime(NOW - 200 * DAY, NOW), "6 months ago");
  assert.equal(relativeTime(NOW - 800 * DAY, NOW), "2 years ago");
});

Deno.test("dayKey - is the calendar day in the clock's zone", () => {
  const late = Date.UTC(2025, 2, 4, 23, 30);
  assert.equal(dayKey(late, UTC_CLOCK), "2025-03-04");
  assert.equal(dayKey(late, { timeZone: "Asia/Tokyo" }), "2025-03-05");
  assert.equal(dayKey(late, { timeZone: "America/New_York" }), "2025-03-04");
});

Deno.test("previousDay - crosses months, years and leap days", () => {
  assert.equal(previousDay("2025-03-05"), "2025-03-04");
  assert.equal(previousDay("2025-03-01"), "2025-02-28");
  assert.equal(previousDay("2024-03-01"), "2024-02-29");
  assert.equal(previousDay("2025-01-01"), "2024-12-31");
});

Deno.test("dayLabel - Today, Yesterday, then weekday and date, with the year when older", () => {
  assert.equal(dayLabel("2025-03-05", NOW, UTC_CLOCK), "Today");
  assert.equal(dayLabel("2025-03-04", NOW, UTC_CLOCK), "Yesterday");
  assert.equal(dayLabel("2025-03-03", NOW, UTC_CLOCK), "Monday 3 March");
  assert.equal(dayLabel("2024-12-31", NOW, UTC_CLOCK), "31 December 2024");
  // At 05:00 UTC on the 5th it is already afternoon in Tokyo, still the 4th in Los Angeles.
  const early = Date.UTC(2025, 2, 5, 5, 0);
  const tokyo = { timeZone: "Asia/Tokyo", locale: "en-GB" };
  const losAngeles = { timeZone: "America/Los_Angeles", locale: "en-GB" };
  assert.equal(dayLabel("2025-03-05", early, tokyo), "Today");
  assert.equal(dayLabel("2025-03-04", early, tokyo), "Yesterday");
  assert.equal(dayLabel("2025-03-04", early, losAngeles), "Today");
  assert.equal(dayLabel("2025-03-05", early, UTC_CLOCK), "Today");
});

Deno.test("timeOfDay - the UTC clock says so; a local clock uses its own form", () => {
  const at = Date.UTC(2025, 2, 5, 14, 5);
  assert.equal(timeOfDay(at, UTC_CLOCK), "14:05 UTC");
  assert.equal(timeOfDay(at, { timeZone: "America/New_York", locale: "en-US" }), "9:05 AM");
  assert.match(fullTime(at, UTC_CLOCK), /^Wednesday,? 5 March 2025,? (at )?14:05 UTC$/);
});
