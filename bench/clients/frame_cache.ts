/**
 * Every client in a room gets the same `messages` frames, so the load generator parses each
 * distinct frame once for all of them: parsing one copy per client took about a third of its
 * CPU, on the two cores it shares with the server under test. Clients only read what they get.
 *
 * @module
 */

/** The parsed form of the last few distinct texts, found again by string equality. */
export class FrameCache<T> {
  #parse: (text: string) => T;
  #recent: Array<{ text: string; value: T }> = [];
  #next = 0;
  #size: number;

  /**
   * @param parse turns a text into its value; called once per distinct text while it is kept
   * @param size how many distinct texts are kept: at least the rooms whose frames interleave
   */
  constructor(parse: (text: string) => T, size = 32) {
    this.#parse = parse;
    this.#size = size;
  }

  /** The value of `text`, parsed now unless one of the last distinct texts was the same. */
  get(text: string): T {
    for (const entry of this.#recent) if (entry.text === text) return entry.value;
    const value = this.#parse(text);
    this.#recent[this.#next] = { text, value };
    this.#next = (this.#next + 1) % this.#size;
    return value;
  }
}
