/**
 * Reads of many keys at once, within KV's limit of ten keys per `getMany`.
 *
 * @module
 */

/** The most keys KV reads in one `getMany`. */
export const KEYS_PER_READ = 10;

/** Reads every key, ten to a `getMany` and all at once; entries come in the order of the keys. */
export async function getAll<T>(
  kv: Deno.Kv,
  keys: readonly Deno.KvKey[],
): Promise<Deno.KvEntryMaybe<T>[]> {
  const reads: Promise<Deno.KvEntryMaybe<T>[]>[] = [];
  for (let i = 0; i < keys.length; i += KEYS_PER_READ) {
    reads.push(kv.getMany<T[]>(keys.slice(i, i + KEYS_PER_READ)));
  }
  return (await Promise.all(reads)).flat();
}
