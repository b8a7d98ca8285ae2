import { ParleyError } from "./errors.ts";
import type { Delivery, Subscription } from "./hub.ts";
import { readResyncMessages, type Resume } from "./resume.ts";
import { HistoryTrimmedError } from "./room_reader.ts";
import { roomToWrite } from "./room_to_write.ts";
import type { Services } from "./services.ts";
import type { Session } from "./session.ts";
import type { Room } from "./types.ts";

/** An event stream's timings, in ms (tests shorten them). */
export const STREAM_TIMING = {
  /**
   * How often a stream gets a `ping` event, whether or not messages flow: proxies keep it open,
   * and its client, which hears one at least this often, can tell a silent stream from a dead one.
   */
  heartbeatMs: 15_000,
  /**
   * How long a stream lasts, give or take a fifth (so streams opened together do not all renew
   * together): then it ends with a `reconnect` event, and its client opens a new one. A reader
   * that vanished without closing its connection (a laptop shut, a network gone) would otherwise
   * stay online until the kernel gave up on it, a quarter of an hour or for ever: an event stream
   * has no way back to hear that its reader is there.
   */
  maxAgeMs: 5 * 60_000,
  /**
   * How long a stream renewed after its age still shows its session online: its client's next
   * stream has joined by then, so others do not see it leave and come back.
   */
  renewalPresenceMs: 5_000,
};
/** How long a browser should wait before reconnecting, sent as `retry:`. */
export const RETRY_MS = 2_000;
/** A stream whose unread output stays over this many bytes is ended as a slow consumer. */
export const MAX_QUEUED_BYTES = 1024 * 1024;
/** How long a stream may stay over {@link MAX_QUEUED_BYTES} before it is ended. */
export const SLOW_CONSUMER_GRACE_MS = 1_000;

/** The `error` event of a stream that failed for a reason of the server's own (it is logged). */
const STREAM_FAILED = "The stream could not read the room's messages";
const encoder = new TextEncoder();
const PING = encoder.encode("event: ping\ndata: {}\n\n");

/** Which room a stream follows, from where, and for whom. */
export interface EventStreamOptions {
  room: Room;
  resume: Resume;
  /** The client's IP, for the log. */
  ip: string;
  /** Who is listening, for presence; undefined for an anonymous reader. */
  session?: Session;
  /** Called once when the stream closes (to release its connection slot). */
  onEnd?: () => void;
}

/**
 * Streams a room as Server-Sent Events: a `welcome` event with the head, then every message
 * after `after` as `id`/`event: message`/`data`, with a `ping` event as a heartbeat, until the
 * stream's age ends it with a `reconnect` event. Closing the response body (the client went
 * away) ends the subscription.
 */
export function openEventStream(
  services: Pick<
    Services,
    "hub" | "log" | "connections" | "metrics" | "events" | "presence" | "sessions"
  >,
  options: EventStreamOptions,
): ReadableStream<Uint8Array> {
  const { hub, log, connections, metrics, events } = services;
  const { room: { id: room, epoch }, resume, ip, onEnd, session } = options;
  const joined = session && services.presence.join(room, session, crypto.randomUUID());
  let subscription: Subscription | undefined;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let stream: ReadableStreamDefaultController<Uint8Array> | undefined;
  /** No longer served: nothing more is written. */
  let stopped = false;
  /** The reader went away (the response body was cancelled). */
  let gone = false;
  let closed = false;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const forget = connections.add({
    close: () => {
      stop();
      close();
    },
  }, "sse");
  const opened = Date.now();
  events.write("connection_open", { transport: "sse", room, ip });

  /**
   * Stops serving the stream, counting it as `reason` when given; the stream stays open. Its
   * session leaves the room's presence after `leaveAfterMs`.
   */
  function stop(reason?: string, leaveAfterMs = 0): void {
    if (stopped) return;
    stopped = true;
    if (reason) {
      metrics.rejected.inc(reason);
      events.write("rejected", { transport: "sse", room, ip, reason });
    }
    const leaveRoom = () => joined?.leave().then(() => hub.refreshPresence(room)).catch(() => {});
    if (leaveAfterMs === 0) leaveRoom();
    else Deno.unrefTimer(setTimeout(leaveRoom, leaveAfterMs));
    clearInterval(heartbeat);
    for (const timer of timers) clearTimeout(timer);
    subscription?.close();
  }

  /** Closes the stream and gives up its connection slot. */
  function close(): void {
    if (closed) return;
    closed = true;
    events.write("connection_close", {
      transport: "sse",
      room,
      ip,
      seconds: Math.round((Date.now() - opened) / 1000),
    });
    forget();
    onEnd?.();
    try {
      stream?.close();
    } catch {
      // Already closed by the client.
    }
  }

  /**
   * Ends the stream: it stops being served at once, and closes once its reader has taken what
   * was queued for it, or has gone. A reader that stopped reading keeps its connection slot
   * until then: one that abandons stream after stream would otherwise pile up their queues.
   */
  function end(reason?: string, leaveAfterMs?: number): void {
    stop(reason, leaveAfterMs);
    const queued = MAX_QUEUED_BYTES - (stream?.desiredSize ?? MAX_QUEUED_BYTES);
    if (gone || queued <= 0) close();
  }

  return new ReadableStream<Uint8Array>({
    async start(controller) {
      stream = controller;
      // A burst (a long backlog) may pass the cap for a moment; a reader that stays over it
      // is too slow and is ended rather than allowed to eat memory.
      let overCap: ReturnType<typeof setTimeout> | undefined;
      // Whether what is queued for the reader is within the stream's cap.
      const hasRoom = () => (controller.desiredSize ?? 0) >= 0;
      const write = (chunk: Uint8Array) => {
        if (stopped) return;
        controller.enqueue(chunk);
        if (hasRoom() || overCap) return;
        overCap = setTimeout(() => {
          overCap = undefined;
          if (!hasRoom()) end("slow_consumer");
        }, SLOW_CONSUMER_GRACE_MS);
        timers.add(overCap);
      };
      write(encoder.encode(`retry: ${RETRY_MS}\n\n`));
      heartbeat = setInterval(() => write(PING), STREAM_TIMING.heartbeatMs);
      const event = (name: string, data: unknown, id = "") =>
        write(encoder.encode(`${id}event: ${name}\ndata: ${JSON.stringify(data)}\n\n`));
      try {
        const deliver = (delivery: Delivery) => {
          metrics.deliveries.inc("sse", delivery.messages.length);
          write(delivery.events);
        };
        subscription = await hub.subscribe(room, deliver, {
          after: resume.after,
          onPresence: (presence) => event("presence", presence),
          joined: joined?.written,
          backlogRoom: () => roomToWrite(hasRoom, () => stopped),
          onGap: () => {
            event("error", `Room "${room}" no longer keeps messages this stream was yet to send`);
            end("history_trimmed");
          },
          onStart: async (head) => {
            // Its id is the cursor the stream goes on from, so an EventSource that reconnects
            // before the first message resumes from it (a resync's own id follows it).
            const from = resume.resync ? "" : `id: ${Math.min(resume.after ?? head, head)}\n`;
            const authorId = session && services.sessions.authorId(session, room);
            event("welcome", { room, head, epoch, authorId }, from);
            if (!resume.resync) return;
            const messages = await readResyncMessages(log, room, head);
            event("resync", { room, epoch, head, messages }, `id: ${head}\n`);
          },
        });
      } catch (error) {
        // What the client may read: the refusals it can act on, never the store's own words.
        if (!(error instanceof ParleyError)) {
          console.error(`An event stream of room "${room}" could not subscribe:`, error);
        }
        event("error", error instanceof ParleyError ? error.message : STREAM_FAILED);
        // A cursor that retention passed is counted, as when a live stream falls behind it.
        return end(error instanceof HistoryTrimmedError ? "history_trimmed" : undefined);
      }
      if (stopped) return subscription.close();
      const renewal = setTimeout(() => {
        event("reconnect", {});
        end(undefined, STREAM_TIMING.renewalPresenceMs);
      }, STREAM_TIMING.maxAgeMs * (0.8 + 0.4 * Math.random()));
      timers.add(renewal);
    },
    // The reader took a chunk: a stream that was ended closes once it has taken them all.
    pull() {
      if (stopped) end();
    },
    cancel() {
      gone = true;
      end();
    },
  }, new ByteLengthQueuingStrategy({ highWaterMark: MAX_QUEUED_BYTES }));
}
