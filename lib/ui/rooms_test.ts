import assert from "node:assert/strict";
import type { Room } from "../types.ts";
import {
  directorySummary,
  filterRooms,
  MAX_DIRECTORY_ROOMS,
  messageCount,
  normalizeQuery,
  refreshedInPlace,
  type RoomSummary,
  summarizeRoom,
} from "./rooms.ts";

const ROOMS = [
  { id: "lobby", title: "The Lobby" },
  { id: "ops", title: "Operations" },
  { id: "cafe", title: "Café talk" },
  { id: "design-crit", title: "Design critique" },
];

function ids(query: string): string[] {
  return filterRooms(ROOMS, query).map((room) => room.id);
}

Deno.test("filterRooms - matches title or id, ignoring case and accents", () => {
  assert.deepEqual(ids(""), ["lobby", "ops", "cafe", "design-crit"]);
  assert.deepEqual(ids("   "), ["lobby", "ops", "cafe", "design-crit"]);
  assert.deepEqual(ids("LOB"), ["lobby"]);
  assert.deepEqual(ids("cafe"), ["cafe"]);
  assert.deepEqual(ids("café"), ["cafe"]);
  assert.deepEqual(ids("crit"), ["design-crit"]);
  assert.deepEqual(ids("#lobby"), ["lobby"]);
  assert.deepEqual(ids("#lob"), ["lobby"]);
  assert.deepEqual(ids("nothing"), []);
});

Deno.test("filterRooms - every word must match", () => {
  assert.deepEqual(ids("design crit"), ["design-crit"]);
  assert.deepEqual(ids("design lobby"), []);
});

Deno.test("normalizeQuery - trims and cuts at 80 characters", () => {
  assert.equal(normalizeQuery(null), "");
  assert.equal(normalizeQuery("  lob  "), "lob");
  assert.equal(normalizeQuery("x".repeat(100)).length, 80);
  const cutAtSpace = `${"a".repeat(79)} b`;
  assert.equal(normalizeQuery(cutAtSpace), "a".repeat(79));
  assert.equal(normalizeQuery(normalizeQuery(cutAtSpace)), normalizeQuery(cutAtSpace));
});

Deno.test("summarizeRoom - counts head minus trimmed and takes the online count", () => {
  const room: Room = {
    id: "lobby",
    title: "The Lobby",
    createdAt: 1,
    head: 120,
    lastAt: 99,
    epoch: "e",
    trimmed: 20,
  };
  assert.deepEqual(summarizeRoom(room), {
    id: "lobby",
    title: "The Lobby",
    messages: 100,
    lastAt: 99,
  });
  assert.equal(summarizeRoom(room, new Map([["lobby", 3]])).online, 3);
  assert.equal(summarizeRoom(room, new Map([["other", 3]])).online, undefined);
  assert.equal(messageCount(1), "1 message");
  assert.equal(messageCount(0), "0 messages");
});

/** A listing of `shown` rooms out of `matches` matching and `total` in all. */
function listing(shown: number, matches: number, total: number) {
  const rooms: RoomSummary[] = Array.from({ length: shown }, (_, i) => ({
    id: `r${i}`,
    title: `Room ${i}`,
    messages: 0,
    lastAt: null,
  }));
  return { rooms, matches, total };
}

Deno.test("directorySummary - says nothing when every room is shown without a search", () => {
  assert.equal(directorySummary(listing(3, 3, 3), ""), "");
  assert.equal(directorySummary(listing(0, 0, 0), ""), "");
});

Deno.test("directorySummary - says which rooms are shown when there are more", () => {
  assert.equal(
    directorySummary(listing(50, 20_000, 20_000), ""),
    "Showing the 50 most recently active of 20,000 rooms.",
  );
  assert.equal(
    directorySummary(listing(MAX_DIRECTORY_ROOMS, 20_000, 20_000), ""),
    "Showing the 1,000 most recently active of 20,000 rooms. Search to find the others.",
  );
});

Deno.test("directorySummary - counts the rooms a search matches", () => {
  assert.equal(directorySummary(listing(0, 0, 3), "zzz"), "No rooms match “zzz”.");
  assert.equal(directorySummary(listing(1, 1, 3), "oper"), "1 of 3 rooms matches “oper”.");
  assert.equal(directorySummary(listing(1, 1, 1), "oper"), "1 of 1 room matches “oper”.");
  assert.equal(
    directorySummary(listing(50, 1_234, 20_000), "room"),
    "1,234 of 20,000 rooms match “room”; showing the 50 most recently active.",
  );
  assert.equal(
    directorySummary(listing(MAX_DIRECTORY_ROOMS, 5_000, 20_000), "room"),
    "5,000 of 20,000 rooms match “room”; showing the 1,000 most recently active. " +
      "Search to find the others.",
  );
});

Deno.test("refreshedInPlace - rooms shown keep their places and take fresh counts; new ones wait", () => {
  const room = (id: string, messages: number): RoomSummary => ({
    id,
    title: id,
    messages,
    lastAt: messages === 0 ? null : messages,
  });
  const shown = { rooms: [room("a", 3), room("b", 2), room("c", 1)], matches: 3, total: 3 };
  const fresh = { rooms: [room("c", 9), room("new", 8), room("a", 3)], matches: 4, total: 4 };
  assert.deepEqual(refreshedInPlace(shown, fresh), {
    rooms: [room("a", 3), room("b", 2), room("c", 9)],
    matches: 4,
    total: 4,
  });
});
