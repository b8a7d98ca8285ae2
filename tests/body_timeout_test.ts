/**
 * Request bodies that do not arrive: Deno's HTTP server waits for a body as long as the client
 * keeps its connection open, so Parley answers 408 `body_timeout` once `PARLEY_BODY_TIMEOUT` has
 * passed, and uses nothing of the request.
 *
 * @module
 */
import assert from "node:assert/strict";
import { withConsoleErrors } from "./console_errors.ts";
import { rawRequest } from "./raw_http.ts";
import { requestJson, sessionToken, withLobby } from "./server.ts";
import { waitFor, within } from "./wait_for.ts";

/** How long a test waits for the answer before it fails instead of hanging: far past the 1 s. */
const GIVE_UP_MS = 20_000;

Deno.test("slow body - a body that never arrives is answered 408 body_timeout and nothing is applied", async () => {
  await withLobby(async (server) => {
    const port = Number(new URL(server.origin).port);
    const host: [string, string] = ["Host", `127.0.0.1:${port}`];
    const json: [string, string] = ["Content-Type", "application/json"];
    const bearer: [string, string] = ["Authorization", `Bearer ${sessionToken(server, "ann")}`];
    // Each declares a body (of a length, or chunked) and sends none of it.
    const stalled: Array<[string, Array<[string, string]>]> = [
      ["/api/rooms/lobby/messages", [host, json, bearer, ["Content-Length", "100"]]],
      ["/api/rooms", [host, json, ["Transfer-Encoding", "chunked"]]],
      ["/api/session", [host, json, ["Content-Length", "20"]]],
      ["/", [host, ["Content-Type", "application/x-www-form-urlencoded"], [
        "Content-Length",
        "30",
      ]]],
    ];
    for (const [path, headers] of stalled) {
      const answer = await within(
        rawRequest(port, { method: "POST", path, headers }),
        GIVE_UP_MS,
        `an answer to POST ${path}`,
      );
      assert.equal(answer.status, 408, path);
      assert.match(answer.headers.get("content-type") ?? "", /^application\/json/, path);
      assert.deepEqual(JSON.parse(answer.body ?? ""), {
        error: {
          code: "body_timeout",
          message: "The body did not arrive in full within 1 s: send the request again",
        },
      });
    }
    const { body } = await requestJson(server, "/api/rooms/lobby/messages?after=0");
    assert.deepEqual(body.messages, []);
    const rooms = await requestJson(server, "/api/rooms");
    assert.deepEqual((rooms.body.rooms as Array<{ id: string }>).map(({ id }) => id), ["lobby"]);
    // A body that arrives is taken as before.
    const sent = await requestJson(server, "/api/rooms/lobby/messages", {
      body: { author: "ann", text: "on time" },
    });
    assert.equal(sent.status, 201);
  }, { env: { PARLEY_BODY_TIMEOUT: "1" } });
});

Deno.test("slow body - a client that hangs up before its body ends is a rejection, not a server failure", async () => {
  await withLobby(async (server) => {
    const port = Number(new URL(server.origin).port);
    const logged = await withConsoleErrors(async (logged) => {
      const connection = await Deno.connect({ hostname: "127.0.0.1", port });
      const head = `POST /api/rooms HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
        `Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"id":`;
      await connection.write(new TextEncoder().encode(head));
      connection.close();
      await waitFor(
        "the request to be rejected",
        () => server.services.metrics.rejected.get("body_incomplete") === 1,
      );
      return logged;
    });
    assert.deepEqual(logged, []);
  });
});
