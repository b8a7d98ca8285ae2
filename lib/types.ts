/** A chat room as stored in the log: its title and the head of its message sequence. */
export interface Room {
  id: string;
  title: string;
  createdAt: number;
  /** The seq of the newest message; 0 for an empty room. */
  head: number;
  /** Server time of the newest message in ms since the epoch, or null for an empty room. */
  lastAt: number | null;
  /** Identifies this log instance; a cursor from another epoch cannot resume here. */
  epoch: string;
  /** The highest seq deleted by history retention; 0 while nothing was. */
  trimmed: number;
}

/**
 * A room record as stored: the room, and the log values that hold some of its newest messages
 * (see `lib/keys.ts`); absent or empty when all its messages are under its own keys.
 */
export interface StoredRoom extends Room {
  logged?: number[];
}

/** One stored chat message; `seq` is dense and gap-free within its room. */
export interface Message {
  seq: number;
  id: string;
  room: string;
  author: string;
  text: string;
  at: number;
  /**
   * The public id of the session that sent it (see `Session.authorId`); absent on messages
   * stored before messages carried one.
   */
  authorId?: string;
}

/** What a client hands in to be appended; the server adds seq, room and time. */
export interface NewMessage {
  id?: string;
  author: string;
  text: string;
  /** The sending session's public id. */
  authorId?: string;
}
