/** Fields of a log line: identifiers and counts, never message text. */
export type LogFields = Record<string, string | number | boolean | undefined>;

/**
 * Structured logging: one JSON line per connection open and close and per rejected input, on
 * standard output. Message text is never logged.
 */
export class EventLog {
  /** @param enabled false (`PARLEY_LOG=off`) writes nothing */
  constructor(readonly enabled: boolean) {}

  /** Writes one line: the time, the event name and its fields. */
  write(event: string, fields: LogFields = {}): void {
    if (!this.enabled) return;
    console.log(JSON.stringify({ time: new Date().toISOString(), event, ...fields }));
  }
}
