import { runLoad } from "./load.ts";
import type { ScenarioContext } from "./context.ts";

/** `fanout`: WebSocket clients in rooms × clients, on each chosen server (Parley and the ceiling). */
export async function fanout(context: ScenarioContext): Promise<void> {
  for (const server of context.options.servers) {
    await runLoad(context, { name: "fanout", server, transports: ["ws"] });
  }
}
