import { SettingError } from "./config.ts";
import { retryLocked } from "./kv_locks.ts";

/** Whether a KV path names a file on this machine (not `:memory:`, not a KV Connect URL). */
export function isLocalFile(path: string): boolean {
  return path !== ":memory:" && isLocalStore(path);
}

/** Whether KV at `path` is SQLite in this process: a local file or `:memory:` (not a URL). */
export function isLocalStore(path: string): boolean {
  return !/^[a-z]+:\/\//i.test(path);
}

/**
 * Opens Deno KV at a path, creating the folder of a file path first.
 * `:memory:` and URLs (KV Connect) are passed through; undefined opens the platform default.
 * `open` stands in for `Deno.openKv` (in tests).
 */
export async function openKv(
  path: string | undefined,
  open: (path?: string) => Promise<Deno.Kv> = Deno.openKv,
): Promise<Deno.Kv> {
  if (path === undefined) return await open();
  try {
    if (isLocalFile(path)) {
      const slash = path.lastIndexOf("/");
      if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
    }
    // `--parallel` workers open the file at the same moment, and SQLite may find it locked.
    return await retryLocked(() => open(path));
  } catch (error) {
    const where = `"${path}" (PARLEY_KV_PATH)`;
    throw new SettingError(`Cannot open the message store at ${where}: ${error}`, {
      cause: error,
    });
  }
}
