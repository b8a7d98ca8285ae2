/**
 * Spreads periodic work over its interval: members are dealt into a number of slices as they
 * join, and each turn takes the next slice, so every member comes up once in as many turns as
 * there are slices, and never all of them in the same turn.
 *
 * @module
 */

/** Members dealt into slices, taken one slice a turn; see the module documentation. */
export class RoundRobin<T> {
  #slices: Set<T>[];
  #sliceOf = new Map<T, Set<T>>();
  #turn = 0;

  /** @param slices how many turns it takes for every member to come up once */
  constructor(slices: number) {
    this.#slices = Array.from({ length: slices }, () => new Set<T>());
  }

  /** Adds `member` to the smallest slice, so slices stay even whoever leaves; once only. */
  add(member: T): void {
    if (this.#sliceOf.has(member)) return;
    const smallest = this.#slices.reduce((least, slice) => slice.size < least.size ? slice : least);
    smallest.add(member);
    this.#sliceOf.set(member, smallest);
  }

  /** Removes `member`, if it is one. */
  delete(member: T): void {
    this.#sliceOf.get(member)?.delete(member);
    this.#sliceOf.delete(member);
  }

  /** The members of the next slice, in the order they joined it. */
  next(): T[] {
    const slice = this.#slices[this.#turn];
    this.#turn = (this.#turn + 1) % this.#slices.length;
    return [...slice];
  }
}
