/**
 * The store's format marker (`["meta", "format"]`, see `lib/keys.ts`), checked and written as the
 * server starts, before anything reads or writes the store.
 *
 * @module
 */
import { SettingError } from "./config.ts";
import { FORMAT_KEY } from "./keys.ts";
import { retryLocked } from "./kv_locks.ts";
import { storeName } from "./open_kv.ts";
import { readsFormat, STORE_FORMAT } from "./store_format.ts";

/**
 * Makes sure the store at `kvPath` (undefined: the platform's default) is in a format this version
 * reads. A store without a marker, new or written before there were markers, is in this layout and
 * is marked {@link STORE_FORMAT}: the first of the workers and processes starting on it writes the
 * marker (checked absent), and the others read what it wrote. A store marked with a format this
 * version cannot read (a later version's) is refused with a {@link SettingError} naming the store,
 * its format and the newest format this version reads.
 */
export async function markStoreFormat(kv: Deno.Kv, kvPath: string | undefined): Promise<void> {
  let marker = await kv.get(FORMAT_KEY);
  if (marker.versionstamp === null) {
    const { ok } = await retryLocked(() =>
      kv.atomic()
        .check({ key: FORMAT_KEY, versionstamp: null })
        .set(FORMAT_KEY, STORE_FORMAT)
        .commit()
    );
    if (ok) return;
    marker = await kv.get(FORMAT_KEY);
  }
  if (readsFormat(marker.value)) return;
  throw new SettingError(
    `Cannot use ${storeName(kvPath)}: it is in format ${Deno.inspect(marker.value)}, and this ` +
      `version of Parley reads formats up to ${STORE_FORMAT}; run the version that wrote it or a ` +
      `later one, or restore a backup taken before the upgrade (see docs/DEPLOY.md#upgrading)`,
  );
}
