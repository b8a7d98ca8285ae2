/**
 * Paging back through a room's history: `GET /api/rooms/:room/messages?before=SEQ&limit=N`.
 *
 * This belongs in the client library (`lib/client.ts`) beside `connect`; it lives here until the
 * library offers it, and the island calls only this function for it.
 *
 * @module
 */
import { fetchWithin } from "../fetch_within.ts";
import type { Message } from "../types.ts";

/** How many older messages one page fetches. */
export const OLDER_PAGE_SIZE = 50;

/** How long the answer to a request for a page may take to start before it is given up, in ms. */
const ANSWER_WITHIN_MS = 10_000;

/** A page of history: the messages before a seq, oldest first, and the log's epoch. */
export interface HistoryPage {
  messages: Message[];
  epoch: string;
}

/** Fetches up to `limit` messages of `room` before seq `before`, oldest first. */
export async function fetchOlder(
  room: string,
  before: number,
  options: { limit?: number; baseUrl?: string | URL; signal?: AbortSignal } = {},
): Promise<HistoryPage> {
  const url = new URL(
    `/api/rooms/${encodeURIComponent(room)}/messages`,
    options.baseUrl ?? globalThis.location.href,
  );
  url.searchParams.set("before", String(before));
  url.searchParams.set("limit", String(options.limit ?? OLDER_PAGE_SIZE));
  // Over a link that stalled, the answer would never come: the page says so, to try again.
  const response = await fetchWithin(url, ANSWER_WITHIN_MS, {
    signal: options.signal,
    headers: { accept: "application/json" },
  });
  const body = await response.json();
  if (!response.ok) {
    throw new Error(body?.error?.message ?? `Loading older messages failed (${response.status})`);
  }
  return { messages: body.messages as Message[], epoch: body.epoch as string };
}
