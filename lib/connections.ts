import type { TransportName } from "./transports/transport.ts";

/** Something open that a shutdown must end: a WebSocket or an event stream. */
export interface Closable {
  close(code: number, reason: string): void;
}

/** The live WebSockets and event streams of this worker, so a shutdown can end them all. */
export class ConnectionRegistry {
  #open = new Map<Closable, TransportName>();

  /** Registers a connection; returns the function that forgets it again. */
  add(connection: Closable, transport: TransportName): () => void {
    this.#open.set(connection, transport);
    return () => this.#open.delete(connection);
  }

  /** How many connections of a transport are open. */
  count(transport: TransportName): number {
    let count = 0;
    for (const name of this.#open.values()) if (name === transport) count++;
    return count;
  }

  /** Closes every connection, e.g. with 1001 "going away" on shutdown. */
  closeAll(code: number, reason: string): void {
    for (const connection of [...this.#open.keys()]) connection.close(code, reason);
    this.#open.clear();
  }
}
