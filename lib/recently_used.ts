/**
 * A `Map` used as a least-recently-used cache: insertion order is use order.
 *
 * @module
 */

/** Sets `key` as the most recently used entry of `map`, evicting the least recent past `limit`. */
export function useRecent<V>(map: Map<string, V>, key: string, value: V, limit: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > limit) map.delete(map.keys().next().value!);
}
