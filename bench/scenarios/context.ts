import type { BenchOptions } from "../args.ts";
import { forgetSessionTokens } from "../clients/session.ts";
import type { BenchReport } from "../results.ts";
import { type ServerHandle, type ServerKind, startServer } from "../server_process.ts";

/** What every scenario gets: the options, the report to add to, and a progress logger. */
export interface ScenarioContext {
  options: BenchOptions;
  report: BenchReport;
  /** Prints a progress line to stderr (stdout is kept for the table). */
  log(message: string): void;
}

/** Starts a server for a scenario, runs `body` with it, and always stops it. */
export async function withServer<T>(
  context: ScenarioContext,
  kind: ServerKind,
  body: (server: ServerHandle) => Promise<T>,
  options: { allAddresses?: boolean } = {},
): Promise<T> {
  const start = () =>
    startServer(kind, {
      root: context.options.root,
      cpuProfDir: context.options.cpuProfDir,
      allAddresses: options.allAddresses,
    });
  let server: ServerHandle;
  try {
    server = await start();
  } catch (error) {
    // A server that dies while starting is a finding, not a reason to lose the scenario: note
    // the first line of its error and try once more.
    const message = (error as Error).message;
    const cause = message.split("\n").find((line) => /error/i.test(line)) ?? message;
    context.report.incidents.push(
      `${kind} exited while starting, then started on a retry: ${cause.trim()}`,
    );
    context.log(`${kind} exited while starting; retrying once. ${message}`);
    server = await start();
  }
  try {
    return await body(server);
  } catch (error) {
    const log = server.log().split("\n").filter((line) => !line.includes('"connection_')).slice(
      -20,
    );
    context.log(`${kind} failed; the end of its log:\n${log.join("\n")}`);
    throw error;
  } finally {
    await server.stop();
    forgetSessionTokens(server.origin);
  }
}

/** Waits a moment, so the server settles before its memory is read. */
export function settle(ms = 1000): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
