import type { ScenarioContext } from "./context.ts";
import { runLoad } from "./load.ts";
import { isParley } from "../server_process.ts";

/** `mixed`: WebSocket, SSE and long-poll clients in turn in the same rooms (Parley only). */
export async function mixed(context: ScenarioContext): Promise<void> {
  for (const server of context.options.servers.filter(isParley)) {
    await runLoad(context, { name: "mixed", server, transports: ["ws", "sse", "poll"] });
  }
}
