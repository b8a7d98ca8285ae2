import { PollClient } from "./clients/poll_client.ts";
import { PostSender } from "./clients/post_sender.ts";
import { createRooms, roomIds } from "./clients/rooms.ts";
import type { Sender } from "./clients/sender.ts";
import { sessionToken } from "./clients/session.ts";
import { SseClient } from "./clients/sse_client.ts";
import { WsClient } from "./clients/ws_client.ts";
import type { ServerHandle } from "./server_process.ts";
import type { Tally } from "./tally.ts";

/** How a client receives: WebSocket, Server-Sent Events or long-polling. */
export type Transport = "ws" | "sse" | "poll";

/** The shape of a fleet: rooms × clients per room, and the transports clients use. */
export interface FleetOptions {
  server: ServerHandle;
  /** Prefix of the room ids, unique per scenario. */
  roomPrefix: string;
  rooms: number;
  clientsPerRoom: number;
  /** The transports of a room's clients, in turn: `["ws"]`, or `["ws", "sse", "poll"]` mixed. */
  transports: Transport[];
  tally: Tally;
}

/** Connected clients, each also a sender (WebSocket clients send on their socket, the others POST). */
export interface Fleet {
  /** One sender per client, ordered so that consecutive senders are in different rooms. */
  senders: Sender[];
  /** Open receiving connections. */
  connections: number;
  /** Sends not yet answered, over all clients. */
  pending(): number;
  /** Closes every client. */
  close(): Promise<void>;
}

interface Member {
  transport: Transport;
  sender: Sender & { pending: number };
  ready: Promise<number>;
  close(): Promise<void> | void;
}

const OPEN_BATCH = 100;
const CLOSE_TIMEOUT_MS = 5_000;

function join(
  options: FleetOptions,
  room: string,
  transport: Transport,
  name: string,
  token: string | undefined,
): Member {
  const { server, tally } = options;
  if (transport === "ws") {
    const origin = server.originAt("127.0.0.1", "ws");
    const client = new WsClient({ origin, room, name, token, tally });
    return { transport, sender: client, ready: client.ready, close: () => client.close() };
  }
  const receiver = transport === "sse"
    ? new SseClient(server.origin, room, tally)
    : new PollClient(server.origin, room, tally);
  const sender = new PostSender({ origin: server.origin, room, name, token, tally });
  return {
    transport,
    sender,
    ready: receiver.ready,
    close: async () => {
      sender.close();
      await receiver.close();
    },
  };
}

/**
 * Creates the rooms and connects every client, `OPEN_BATCH` at a time, waiting until each is
 * live (WebSocket `welcome`, SSE `welcome`, or the poll's first head read).
 */
export async function openFleet(options: FleetOptions): Promise<Fleet> {
  const rooms = roomIds(options.roomPrefix, options.rooms);
  await createRooms(options.server.origin, rooms);
  const members: Member[] = [];
  let awaited = 0;
  for (let c = 0; c < options.clientsPerRoom; c++) {
    const transport = options.transports[c % options.transports.length];
    const name = `c${c}`;
    const token = await sessionToken(options.server.origin, name);
    for (const room of rooms) {
      members.push(join(options, room, transport, name, token));
      if (members.length - awaited >= OPEN_BATCH) {
        await Promise.all(members.slice(awaited).map((member) => member.ready));
        awaited = members.length;
      }
    }
  }
  await Promise.all(members.map((member) => member.ready));
  return {
    senders: members.map((member) => member.sender),
    connections: members.length,
    pending: () => members.reduce((sum, member) => sum + member.sender.pending, 0),
    close: async () => {
      const open = new Map(members.map((member) => [member, member.transport]));
      const all = Promise.all(members.map(async (member) => {
        await member.close();
        open.delete(member);
      }));
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        all,
        new Promise((resolve) => timer = setTimeout(resolve, CLOSE_TIMEOUT_MS)),
      ]);
      clearTimeout(timer);
      if (open.size > 0) {
        const counts: Record<string, number> = {};
        for (const transport of open.values()) counts[transport] = (counts[transport] ?? 0) + 1;
        console.error(
          `  ${open.size} clients did not close within ${CLOSE_TIMEOUT_MS} ms:`,
          counts,
        );
      }
    },
  };
}
