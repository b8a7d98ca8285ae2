/**
 * Opens Deno KV at a path, creating the folder of a file path first.
 * `:memory:` and URLs (KV Connect) are passed through; undefined opens the platform default.
 */
export async function openKv(path: string | undefined): Promise<Deno.Kv> {
  if (path === undefined) return await Deno.openKv();
  if (path !== ":memory:" && !/^[a-z]+:\/\//i.test(path)) {
    const slash = path.lastIndexOf("/");
    if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
  }
  try {
    return await Deno.openKv(path);
  } catch (error) {
    throw new Error(`Cannot open the message store at "${path}": ${error}`, {
      cause: error,
    });
  }
}
