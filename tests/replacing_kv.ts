/**
 * Test helper: a KV store with some of its methods swapped, to count or fail calls.
 *
 * @module
 */

/** `kv`, with the methods in `methods` used instead of its own; the rest are its own. */
export function replacing(kv: Deno.Kv, methods: Partial<Deno.Kv>): Deno.Kv {
  return new Proxy(kv, {
    get(target, property) {
      const replaced = (methods as Record<PropertyKey, unknown>)[property];
      if (replaced !== undefined) return replaced;
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
