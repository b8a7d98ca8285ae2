import assert from "node:assert/strict";
import { listenProblem } from "./listen_problem.ts";

/** A `Deno.listen` that fails with `error`. */
function failing(error: Error): () => Deno.Listener {
  return () => {
    throw error;
  };
}

Deno.test("listenProblem - a port the user may not open is one line naming PORT", () => {
  const denied = new Deno.errors.PermissionDenied("Permission denied (os error 13)");
  assert.equal(
    listenProblem({ host: "0.0.0.0", port: 80 }, failing(denied)),
    "Port 80 on 0.0.0.0 is not open to this user (ports below 1024 need privileges): set PORT " +
      "to 1024 or above, with a proxy in front on 80 or 443",
  );
});

Deno.test("listenProblem - a port in use, or an address elsewhere, is named", () => {
  const inUse = new Deno.errors.AddrInUse("Address already in use (os error 98)");
  assert.match(
    listenProblem({ host: "0.0.0.0", port: 8000 }, failing(inUse)) ?? "",
    /^Port 8000 on 0\.0\.0\.0 is in use by another program/,
  );
  const elsewhere = new Deno.errors.AddrNotAvailable("Cannot assign requested address");
  assert.match(
    listenProblem({ host: "10.9.9.9", port: 8000 }, failing(elsewhere)) ?? "",
    /^10\.9\.9\.9 is not an address of this machine/,
  );
});
