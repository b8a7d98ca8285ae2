import assert from "node:assert/strict";
import type { Room } from "../types.ts";
import { filterRooms, messageCount, normalizeQuery, summarizeRoom } from "./rooms.ts";

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
