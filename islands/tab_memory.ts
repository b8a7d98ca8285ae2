/**
 * What a room page keeps for its browser tab across reloads, in `sessionStorage`: the draft in
 * the message box, and the messages sent but not yet stored (and, while there are such, the
 * browser asks before the page goes). Those are sent again, under their
 * ids, by the next page: the server keeps a message once per id, so one that did land meanwhile
 * is not stored twice. Another tab keeps its own.
 *
 * @module
 */
import { type ReadonlySignal, useSignalEffect } from "@preact/signals";
import type { OutboxItem } from "../lib/client.ts";
import { parseClientId, parseText } from "../lib/validation.ts";

/** A message sent from this tab and not yet stored. */
export interface Unsent {
  id: string;
  text: string;
}

const draftKey = (room: string) => `parley:draft:${room}`;
const unsentKey = (room: string) => `parley:unsent:${room}`;

/** The tab's storage, in a browser that allows it (Deno's own, when rendering, is not a tab's). */
function storage(): Storage | undefined {
  if (typeof document === "undefined") return undefined;
  try {
    return globalThis.sessionStorage ?? undefined;
  } catch {
    return undefined;
  }
}

/** Writes or (for an empty value) removes an entry; a full or refused storage keeps nothing. */
function keep(key: string, value: string): void {
  try {
    if (value === "") storage()?.removeItem(key);
    else storage()?.setItem(key, value);
  } catch {
    // Nothing is kept: the page works as it did without.
  }
}

/** The draft this tab kept for `room`, or "". */
export function keptDraft(room: string): string {
  return storage()?.getItem(draftKey(room)) ?? "";
}

/**
 * Keeps what is in the message box for the next page of this tab, and while messages are on
 * their way has the browser ask before the page goes: a reload of this tab sends them again, but
 * closing it would lose them. (Only then: a page listening for leaving is kept out of some
 * browsers' back-forward cache.)
 */
export function useTabMemory(
  room: string,
  page: {
    draft: ReadonlySignal<string>;
    outbox: ReadonlySignal<readonly OutboxItem[]>;
    hydrated: ReadonlySignal<boolean>;
  },
): void {
  useSignalEffect(() => {
    if (page.hydrated.value) keepDraft(room, page.draft.value);
  });
  useSignalEffect(() => {
    if (!page.outbox.value.some((item) => item.state === "sending")) return;
    const onLeave = (event: BeforeUnloadEvent) => event.preventDefault();
    globalThis.addEventListener("beforeunload", onLeave);
    return () => globalThis.removeEventListener("beforeunload", onLeave);
  });
}

/** Keeps the message box's text for the next page of this tab. */
function keepDraft(room: string, draft: string): void {
  keep(draftKey(room), draft.trim() === "" ? "" : draft);
}

/** The messages this tab sent to `room` that were not stored when its last page went. */
export function keptUnsent(room: string): Unsent[] {
  let kept: unknown;
  try {
    kept = JSON.parse(storage()?.getItem(unsentKey(room)) ?? "[]");
  } catch {
    return [];
  }
  if (!Array.isArray(kept)) return [];
  return kept.flatMap((item) => {
    try {
      const id = parseClientId(item?.id);
      return id === undefined ? [] : [{ id, text: parseText(item.text) }];
    } catch {
      return [];
    }
  });
}

/** Keeps the outbox's messages still being sent (failed ones stay on this page only). */
export function keepUnsent(room: string, outbox: readonly OutboxItem[]): void {
  const sending = outbox.filter((item) => item.state === "sending")
    .map(({ id, text }) => ({ id, text }));
  keep(unsentKey(room), sending.length === 0 ? "" : JSON.stringify(sending));
}
