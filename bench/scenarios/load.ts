import { openFleet, type Transport } from "../fleet.ts";
import { measure } from "../measure.ts";
import { measurementRow } from "../results.ts";
import { readStoreMetrics, storeNote } from "../server_metrics.ts";
import type { ServerKind } from "../server_process.ts";
import { Tally } from "../tally.ts";
import { type ScenarioContext, settle, withServer } from "./context.ts";

/** A fan-out load scenario: which clients, against which server. */
export interface LoadScenario {
  /** The scenario's name, also the prefix of its room ids. */
  name: string;
  server: ServerKind;
  /** Transports of each room's clients, in turn. */
  transports: Transport[];
}

/**
 * Runs rooms × clients on a fresh server, every client sending at the per-client rate for the
 * set duration, and adds a row with delivery counts, latency, throughput and server memory.
 */
export async function runLoad(context: ScenarioContext, scenario: LoadScenario): Promise<void> {
  const { options } = context;
  const shape = `${options.rooms}×${options.clients} ${scenario.transports.join("+")}`;
  context.log(`${scenario.name} ${shape} on ${scenario.server}…`);
  await withServer(context, scenario.server, async (server) => {
    const tally = new Tally("m");
    await settle(500);
    const rssBeforeKiB = server.rssKiB();
    const fleet = await openFleet({
      server,
      roomPrefix: scenario.name,
      rooms: options.rooms,
      clientsPerRoom: options.clients,
      transports: scenario.transports,
      tally,
    });
    context.log(`  ${fleet.connections} clients connected`);
    try {
      await settle(500);
      const rssConnectedKiB = server.rssKiB();
      const store0 = await readStoreMetrics(server.origin);
      const result = await measure({
        server,
        fleet,
        tally,
        rate: options.rate * fleet.connections,
        durationS: options.duration + options.warmup,
        warmupS: options.warmup,
        drainS: options.drain,
      });
      const row = measurementRow(
        {
          scenario: `${scenario.name} ${shape}`,
          server: scenario.server,
          connections: fleet.connections,
          rssBeforeKiB,
          rssAfterKiB: server.rssKiB(),
        },
        result,
        rssConnectedKiB,
      );
      const store = storeNote(store0, await readStoreMetrics(server.origin));
      if (store) row.notes.push(store);
      context.report.rows.push(row);
      context.log(`  measured; closing clients`);
    } finally {
      await fleet.close();
      context.log(`  clients closed`);
    }
  });
}
