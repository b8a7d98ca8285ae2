/** Something that sends chat messages into one room: a WebSocket or an HTTP `POST` sender. */
export interface Sender {
  /** The room the messages go to. */
  readonly room: string;
  /** Sends one message; the outcome is recorded in the tally under `tag`. */
  send(id: string, text: string, tag: string): void;
}

/** A message sent and not yet confirmed: its phase tag and send time. */
export interface InFlight {
  tag: string;
  sentAt: number;
}
