import assert from "node:assert/strict";
import { BUNDLE_PATH, missingBundleWarning } from "./bundle_check.ts";

Deno.test("missingBundleWarning - a checkout without the bundle gets one line naming it and the build", async () => {
  const root = await Deno.makeTempDir({ prefix: "parley_bundle_test_" });
  try {
    assert.equal(
      missingBundleWarning(new URL(`file://${root}/`)),
      `Warning: the islands bundle ${root}/${BUNDLE_PATH} is missing, so pages load but chat ` +
        `does not work: build it with "deno task build" in ${root}`,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("missingBundleWarning - a checkout with the bundle gets none", async () => {
  const root = await Deno.makeTempDir({ prefix: "parley_bundle_test_" });
  try {
    await Deno.mkdir(`${root}/static/build`, { recursive: true });
    await Deno.writeTextFile(`${root}/${BUNDLE_PATH}`, "");
    assert.equal(missingBundleWarning(new URL(`file://${root}/`)), undefined);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("missingBundleWarning - this checkout, built for the tests, has its bundle", () => {
  assert.equal(missingBundleWarning(), undefined);
});
