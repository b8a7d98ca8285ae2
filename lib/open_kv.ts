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

/** The store at a KV path (undefined: the platform's default) as an error message names it. */
export function storeName(path: string | undefined): string {
  return path === undefined
    ? "Deno Deploy's KV store"
    : `the message store at "${path}" (PARLEY_KV_PATH)`;
}

/** What SQLite and Deno say when the user may not read or write a store file or its folder. */
const ACCESS_REFUSED = /unable to open database file|read-?only database|permission denied/i;

/** A file path's folder, as the operator would look for it. */
function folderOf(path: string): string {
  const slash = path.lastIndexOf("/");
  if (slash < 0) return "the working folder";
  return `its folder "${slash === 0 ? "/" : path.slice(0, slash)}"`;
}

/**
 * What to check when the store file at `path` did not open with `error`, if that looks like
 * access (SQLite says only "unable to open database file"); else empty.
 */
function accessHint(path: string, error: unknown): string {
  if (!isLocalFile(path) || !ACCESS_REFUSED.test(String(error))) return "";
  return `; check that the user running Parley can read and write the file and create files ` +
    `in ${folderOf(path)}`;
}

/**
 * Opens Deno KV at a path, creating the folder of a file path first, and proving a file writable:
 * SQLite opens a file this user may only read without a word, and every write then fails.
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
    const kv = await retryLocked(() => open(path));
    if (isLocalFile(path)) await provenWritable(kv);
    return kv;
  } catch (error) {
    const hint = accessHint(path, error);
    throw new SettingError(`Cannot open ${storeName(path)}: ${error}${hint}`, {
      cause: error,
    });
  }
}

/** Commits nothing, which still takes SQLite's write lock: a read-only file refuses it. */
async function provenWritable(kv: Deno.Kv): Promise<void> {
  try {
    await retryLocked(() => kv.atomic().commit());
  } catch (error) {
    kv.close();
    throw error;
  }
}
