import type { Sender } from "./clients/sender.ts";
import { messageText } from "./message_text.ts";
import type { Tally } from "./tally.ts";

/** An open-loop send schedule: a total rate spread round-robin over senders. */
export interface PaceOptions {
  senders: Sender[];
  /** Messages per second, over all senders together. */
  rate: number;
  durationMs: number;
  /** Sends in this first part are tagged `w` and not counted. */
  warmupMs?: number;
  /** The tally whose tag the counted sends carry. */
  tally: Tally;
}

/** What a paced run actually did. */
export interface PaceResult {
  /** Sends made in the counted part. */
  sent: number;
  /** Wall time of the counted part, in seconds. */
  seconds: number;
}

const TICK_MS = 2;
const WARMUP_TAG = "w";
let runs = 0;

/**
 * Sends at a fixed total rate for a fixed time, open loop (a slow server does not slow the
 * sender down): every tick it sends what is due, each message from the next sender in turn,
 * with a unique client id and the send time in its text. Stops by itself after `durationMs`.
 */
export async function pace(options: PaceOptions): Promise<PaceResult> {
  const { senders, rate, durationMs, tally } = options;
  const warmupMs = options.warmupMs ?? 0;
  const run = `r${(++runs).toString(36)}${crypto.randomUUID().slice(0, 6)}`;
  const start = performance.now();
  let done = 0;
  let counted = 0;
  let countedFrom = start + warmupMs;
  for (;;) {
    const elapsed = performance.now() - start;
    if (elapsed >= durationMs) break;
    const due = Math.floor((elapsed * rate) / 1000);
    for (; done < due; done++) {
      const sender = senders[done % senders.length];
      const tag = elapsed < warmupMs ? WARMUP_TAG : tally.tag;
      if (tag !== WARMUP_TAG && counted++ === 0) countedFrom = performance.now();
      sender.send(`${run}-${done}`, messageText(tag), tag);
      tally.recordSend(sender.room, tag);
    }
    await new Promise((resolve) => setTimeout(resolve, TICK_MS));
  }
  return { sent: counted, seconds: (performance.now() - countedFrom) / 1000 };
}
