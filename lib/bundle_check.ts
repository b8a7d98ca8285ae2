/**
 * The islands bundle every page loads (`static/build/islands.js`), which `deno task build`
 * writes and the repository does not hold. A server started without it (`deno serve main.ts`
 * straight from a checkout) serves pages whose script is a 404: they read fine, but chat never
 * starts, and nothing says why. So the server says so as it starts: once, though under
 * `--parallel` every worker finds it missing (`warnOnce` in `lib/roll_call.ts`).
 *
 * @module
 */

/** The checkout this server runs from. */
const ROOT = new URL("../", import.meta.url);

/** The bundle's path under the checkout, as `deno task build` writes it. */
export const BUNDLE_PATH = "static/build/islands.js";

/** A file URL's path as the operator would type it, without a slash at the end. */
function pathOf(url: URL): string {
  return decodeURIComponent(url.pathname).replace(/(.)\/$/, "$1");
}

/**
 * One warning line when the islands bundle of the checkout at `root` (this one by default) is
 * missing or cannot be read, naming the file and the command that builds it; else undefined.
 */
export function missingBundleWarning(root: URL = ROOT): string | undefined {
  const bundle = new URL(BUNDLE_PATH, root);
  let problem: string;
  try {
    Deno.statSync(bundle);
    return undefined;
  } catch (error) {
    problem = error instanceof Deno.errors.NotFound
      ? "is missing"
      : `cannot be read (${error instanceof Error ? error.message : error})`;
  }
  return `Warning: the islands bundle ${pathOf(bundle)} ${problem}, so pages load but chat ` +
    `does not work: build it with "deno task build" in ${pathOf(root)}`;
}
