import type { ScenarioContext } from "./context.ts";
import { runLoad } from "./load.ts";
import { isParley } from "../server_process.ts";

/**
 * `poll`: the fan-out shape with long-poll clients (`GET …/messages?after=&wait=25`) sending
 * with `POST`. Parley only: the ceiling speaks WebSocket alone.
 */
export async function poll(context: ScenarioContext): Promise<void> {
  for (const server of context.options.servers.filter(isParley)) {
    await runLoad(context, { name: "poll", server, transports: ["poll"] });
  }
}
