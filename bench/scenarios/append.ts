import type { AppendVia, BenchOptions } from "../args.ts";
import { PostSender } from "../clients/post_sender.ts";
import { createRooms, roomIds } from "../clients/rooms.ts";
import type { Sender } from "../clients/sender.ts";
import { sessionToken } from "../clients/session.ts";
import { WsClient } from "../clients/ws_client.ts";
import { messageText } from "../message_text.ts";
import { cpuSeconds, machineBusySeconds, threadCpuSummary } from "../proc.ts";
import type { AppendTarget, ResultRow } from "../results.ts";
import { isParley, type ServerHandle } from "../server_process.ts";
import { readStoreMetrics, storeNote } from "../server_metrics.ts";
import { Tally } from "../tally.ts";
import { checkDensity } from "../verify_log.ts";
import { type ScenarioContext, settle, withServer } from "./context.ts";

type Closable = Sender & { pending: number; close(): unknown };

const SETTLE_TIMEOUT_MS = 15_000;

/** One append run's load: rooms, senders in each, how they send, and how many unacknowledged. */
export interface AppendShape {
  /** Which append target the run measures. */
  target: AppendTarget;
  rooms: number;
  sendersPerRoom: number;
  via: AppendVia;
  /** Messages each sender keeps unacknowledged: 1 sends the next only after the last's ack. */
  window: number;
}

/**
 * Closed-loop appends: every sender sends `window` messages, sends another whenever one is
 * acknowledged, and stops when the time is up; then every room's history is read back to check
 * that the seqs are dense.
 */
async function appendRun(
  context: ScenarioContext,
  server: ServerHandle,
  shape: AppendShape,
): Promise<ResultRow> {
  const { options } = context;
  const label = `append ${shape.rooms} room${shape.rooms === 1 ? "" : "s"} × ` +
    `${shape.sendersPerRoom} sender${shape.sendersPerRoom === 1 ? "" : "s"} ${shape.via}` +
    (shape.window === 1 ? "" : `, ${shape.window} in flight`);
  context.log(`${label} on ${server.kind}…`);
  const rooms = roomIds(
    `append${shape.rooms}x${shape.sendersPerRoom}${shape.via}w${shape.window}`,
    shape.rooms,
  );
  await createRooms(server.origin, rooms);
  await settle(500);
  const rssBeforeKiB = server.rssKiB();
  const tally = new Tally("m");
  const nexts: (() => void)[] = [];
  const senders: Closable[] = [];
  for (const room of rooms) {
    for (let s = 0; s < shape.sendersPerRoom; s++) {
      const index = senders.length;
      const onSettled = () => nexts[index]();
      const name = `s${s}`;
      const token = await sessionToken(server.origin, name);
      const sender = shape.via === "ws"
        ? new WsClient({
          origin: server.originAt("127.0.0.1", "ws"),
          room,
          name,
          token,
          tally,
          onSettled,
        })
        : new PostSender({ origin: server.origin, room, name, token, tally, onSettled });
      senders.push(sender);
    }
  }
  await Promise.all(senders.map((sender) => sender instanceof WsClient ? sender.ready : 0));
  const store0 = await readStoreMetrics(server.origin);
  const cpu0 = server.cpuSeconds();
  const threads0 = server.threadCpu();
  const written0 = server.storageBytesWritten();
  const generatorCpu0 = cpuSeconds("self");
  const machine0 = machineBusySeconds();
  const start = performance.now();
  const deadline = start + options.appendDuration * 1000;
  const run = crypto.randomUUID().slice(0, 8);
  senders.forEach((sender, index) => {
    let count = 0;
    nexts[index] = () => {
      if (performance.now() >= deadline) return;
      sender.send(`${run}-${index}-${count++}`, messageText("m"), "m");
      tally.recordSend(sender.room, "m");
    };
    for (let sent = 0; sent < shape.window; sent++) nexts[index]();
  });
  const settleBy = deadline + SETTLE_TIMEOUT_MS;
  while (performance.now() < deadline || senders.some((sender) => sender.pending > 0)) {
    if (performance.now() > settleBy) break;
    await settle(20);
  }
  const seconds = (performance.now() - start) / 1000;
  const serverCpu = (server.cpuSeconds() - cpu0) / seconds;
  const generatorCpu = (cpuSeconds("self") - generatorCpu0) / seconds;
  const otherCpu = Math.max(
    0,
    (machineBusySeconds() - machine0) / seconds - serverCpu - generatorCpu,
  );
  const threads = threadCpuSummary(threads0, server.threadCpu(), seconds);
  const written = storageNote(written0, server.storageBytesWritten(), tally.acked);
  const rssAfterKiB = server.rssKiB();
  const store = storeNote(store0, await readStoreMetrics(server.origin));
  await Promise.all(senders.map((sender) => sender.close()));
  const stored = server.kind === "ceiling"
    ? ["nothing stored (ceiling)"]
    : [written, ...(isParley(server.kind) ? [await densityNote(server, rooms)] : [])];
  return {
    scenario: label,
    appendTarget: shape.target,
    server: server.kind,
    connections: senders.length,
    sent: tally.acked,
    throughput: tally.acked / seconds,
    latency: tally.ackLatency.summary(),
    rssBeforeKiB,
    rssAfterKiB,
    serverCpu,
    generatorCpu,
    notes: [
      `${server.kind === "ceiling" ? "acked" : "persisted"}/s, latency = send→ack`,
      `${tally.acked} acked of ${tally.sent} sent, ${tally.rejected} refused` +
      (tally.firstRejection ? ` (first: ${tally.firstRejection})` : ""),
      `gen CPU ${generatorCpu.toFixed(2)}`,
      `other CPU ${otherCpu.toFixed(2)}`,
      `server threads: ${threads}`,
      ...(store ? [store] : []),
      ...stored,
    ],
  };
}

/** What the server sent to storage per persisted message, from two readings of its counter. */
function storageNote(
  before: number | undefined,
  after: number | undefined,
  messages: number,
): string {
  if (before === undefined || after === undefined || messages === 0) {
    return "storage writes unknown";
  }
  return `storage writes ${((after - before) / 1024 / messages).toFixed(1)} KiB per message`;
}

/** Reads every room's history back and says whether its seqs are dense. */
async function densityNote(server: ServerHandle, rooms: string[]): Promise<string> {
  const density = await checkDensity(server.origin, rooms);
  const dense = density.broken.length === 0
    ? "seqs dense ✓"
    : `NOT DENSE in ${density.broken.length} rooms`;
  return `${density.heads} seqs given out (sum of heads), ${density.read} read back ` +
    `in ${density.rooms} rooms, ${dense}`;
}

/**
 * The append runs for one way of sending: the hot room, then the many rooms with one message in
 * flight per sender. A sender with one in flight bounds a run at its senders over the round trip,
 * which includes waiting for a group commit; so over WebSocket the many rooms run once more with
 * `--append-window` messages in flight per sender, which lets the commits fill. Over HTTP each
 * request in flight takes a connection, and the generator's own requests bound even the ceiling,
 * so `POST` runs only with one.
 */
export function appendShapes(
  options: Pick<BenchOptions, "appendSenders" | "appendRooms" | "appendWindow">,
  via: AppendVia,
): AppendShape[] {
  const manyRooms = (window: number): AppendShape => ({
    target: "many rooms",
    rooms: options.appendRooms,
    sendersPerRoom: 1,
    via,
    window,
  });
  const shapes: AppendShape[] = [
    { target: "hot room", rooms: 1, sendersPerRoom: options.appendSenders, via, window: 1 },
    manyRooms(1),
  ];
  if (via === "ws" && options.appendWindow > 1) shapes.push(manyRooms(options.appendWindow));
  return shapes;
}

/**
 * `append`: 500 concurrent senders on one hot room, then one sender on each of 500 rooms, for
 * each way of sending (see {@link appendShapes}); the ceiling, which stores nothing, shows what
 * this machine and the load generator allow. Over WebSocket every sender is in its room, so on
 * the hot room each append is also 500 deliveries: that run measures fan-out as much as appends.
 */
export async function append(context: ScenarioContext): Promise<void> {
  const { options } = context;
  for (const kind of options.servers) {
    for (const via of options.appendVia) {
      // A fresh server for each run, so none inherits the last one's rooms, store and heap.
      for (const shape of appendShapes(options, via)) {
        await withServer(context, kind, async (server) => {
          context.report.rows.push(await appendRun(context, server, shape));
        });
      }
    }
  }
}
