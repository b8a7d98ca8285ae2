/**
 * Server-rendered page tests against a real server on port 0 over real (in-memory) KV: the
 * room directory, creating a room from the form, the room page with its latest messages and
 * island props, the missing-room page, and escaping of hostile text.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Message } from "../lib/types.ts";
import { ROOM_ID_RULE } from "../lib/validation.ts";
import { LIMITS_OFF, requestJson, startServer, type TestServer } from "./server.ts";

const ISLANDS_OPEN = '<script type="application/json" id="parley-islands">';
const PAYLOAD = "</script><!--<img src=x onerror=alert(1)>";

interface IslandRecord {
  name: string;
  props: {
    room: { id: string; title: string };
    messages: Message[];
    speaker?: { name: string; authorId: string };
  };
}

/** Runs `fn` against a fresh in-memory server, always closing it. */
async function withServer(fn: (server: TestServer) => Promise<void>): Promise<void> {
  const server = await startServer(LIMITS_OFF);
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

async function createRoom(server: TestServer, id: string, title: string): Promise<void> {
  const { status } = await requestJson(server, "/api/rooms", { body: { id, title } });
  assert.equal(status, 201);
}

async function post(
  server: TestServer,
  room: string,
  text: string,
  author = "ann",
): Promise<Message> {
  const { status, body } = await requestJson(server, `/api/rooms/${room}/messages`, {
    body: { author, text },
  });
  assert.equal(status, 201, JSON.stringify(body));
  return body.message as Message;
}

async function roomIds(server: TestServer): Promise<string[]> {
  const { body } = await requestJson(server, "/api/rooms");
  return (body.rooms as Array<{ id: string }>).map((room) => room.id).sort();
}

/** Fetches a page, asserting it is HTML; returns the status and the markup. */
async function getPage(
  server: TestServer,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; html: string; response: Response }> {
  const response = await fetch(new URL(path, server.origin), { redirect: "manual", ...init });
  const html = await response.text();
  if (response.status < 300 || response.status >= 400) {
    assert.match(response.headers.get("content-type") ?? "", /^text\/html/);
  }
  return { status: response.status, html, response };
}

function postForm(server: TestServer, fields: Record<string, string>) {
  return getPage(server, "/", { method: "POST", body: new URLSearchParams(fields) });
}

/** The markup before the islands' props script: what a browser shows without JavaScript. */
function markupOf(html: string): string {
  const end = html.indexOf(ISLANDS_OPEN);
  return end === -1 ? html : html.slice(0, end);
}

/** The parsed islands' props script. */
function islandsOf(html: string): IslandRecord[] {
  const start = html.indexOf(ISLANDS_OPEN);
  assert.notEqual(start, -1, "the page has no islands script");
  const end = html.indexOf("</script>", start);
  return JSON.parse(html.slice(start + ISLANDS_OPEN.length, end));
}

/** The `<li>` of the room directory that links to a room. */
function directoryItem(html: string, room: string): string {
  const item = html.split("<li").find((part) => part.includes(`href="/rooms/${room}"`));
  assert.ok(item, `no directory entry for ${room}`);
  return item.slice(0, item.indexOf("</li>"));
}

/** The `<input>` tag of a form field. */
function inputTag(html: string, name: string): string {
  const tag = html.match(new RegExp(`<input name="${name}"[^>]*>`));
  assert.ok(tag, `no ${name} input`);
  return tag[0];
}

function decodeEntities(text: string): string {
  return text.replace(
    /&(lt|gt|quot|#39|amp);/g,
    (_, name: string) => ({ lt: "<", gt: ">", quot: '"', "#39": "'", amp: "&" })[name] ?? "",
  );
}

/** Numbered texts, none a substring of another. */
function numbered(i: number): string {
  return `Message number ${String(i).padStart(3, "0")}.`;
}

Deno.test("GET / - lists every room with its title and message count", async () => {
  await withServer(async (server) => {
    await createRoom(server, "lobby", "The Lobby");
    await createRoom(server, "solo", "Solo Room");
    await createRoom(server, "quiet", "Cats & <Dogs>");
    for (const text of ["one", "two", "three"]) await post(server, "lobby", text);
    await post(server, "solo", "only");

    const { status, html } = await getPage(server, "/");
    assert.equal(status, 200);
    const lobby = directoryItem(html, "lobby");
    assert.match(lobby, />The Lobby</);
    assert.match(lobby, />3 messages\b/);
    const solo = directoryItem(html, "solo");
    assert.match(solo, />Solo Room</);
    assert.match(solo, />1 message\b(?!s)/);
    const quiet = directoryItem(html, "quiet");
    assert.match(quiet, />Cats &amp; &lt;Dogs(>|&gt;)</);
    assert.match(quiet, />No messages yet</);
    assert.ok(!html.includes("<Dogs>"));
  });
});

Deno.test("POST / - creates the room and redirects 303 to it", async () => {
  await withServer(async (server) => {
    const { status, response } = await postForm(server, { id: "new-room", title: "New Room" });
    assert.equal(status, 303);
    assert.equal(response.headers.get("location"), "/rooms/new-room");

    const { body } = await requestJson(server, "/api/rooms");
    const rooms = body.rooms as Array<{ id: string; title: string; head: number }>;
    assert.deepEqual(rooms.map(({ id, title, head }) => ({ id, title, head })), [
      { id: "new-room", title: "New Room", head: 0 },
    ]);
    const page = await getPage(server, "/rooms/new-room");
    assert.equal(page.status, 200);
    assert.match(page.html, /<h1 class="room-title">New Room /);

    // The same form sent again opens the room it made.
    const again = await postForm(server, { id: "new-room", title: "New Room" });
    assert.equal(again.status, 303);
    assert.equal(again.response.headers.get("location"), "/rooms/new-room");
  });
});

Deno.test("POST / - an id taken by a room with another title is a 409 page linking to it", async () => {
  await withServer(async (server) => {
    await createRoom(server, "lobby", "The Lobby");
    const { status, html } = await postForm(server, { id: "lobby", title: "Another lobby" });
    assert.equal(status, 409);
    const alert = html.match(/<p class="form-error" role="alert">(.*?)<\/p>/);
    assert.ok(alert, "no error shown");
    assert.match(
      decodeEntities(alert[1]),
      /^The id "lobby" is taken by the room "The Lobby": pick another id, or open it <a href="\/rooms\/lobby">Open the room<\/a>$/,
    );
    assert.ok(inputTag(html, "id").includes('aria-invalid="true"'));
    assert.ok(inputTag(html, "title").includes(' value="Another lobby"'));
    assert.match((await getPage(server, "/rooms/lobby")).html, /<h1 class="room-title">The Lobby /);
  });
});

Deno.test("POST / - a form body is read as browsers encode it, and bytes that are not UTF-8 are refused", async () => {
  await withServer(async (server) => {
    const send = (body: string, type = "application/x-www-form-urlencoded") =>
      fetch(`${server.origin}/`, {
        method: "POST",
        headers: { "content-type": type },
        body,
        redirect: "manual",
      });
    const refused = await send("id=bytes&title=ab%FFcd");
    assert.equal(refused.status, 400);
    assert.equal((await refused.json()).error.code, "invalid_utf8");
    assert.deepEqual(await roomIds(server), []);
    // "+" is a space, "=" may be part of a value, a "%" that escapes nothing stays, and the
    // media type's case does not matter.
    for (const body of ["title=1+%2B+1+=+2&id=sums&id=ignored", "id=odds&title=100%25+or+%ZZ%"]) {
      const made = await send(body, "Application/X-WWW-Form-URLEncoded");
      await made.body?.cancel();
      assert.equal(made.status, 303);
    }
    const { body } = await requestJson(server, "/api/rooms");
    assert.deepEqual(
      (body.rooms as Array<{ id: string; title: string }>).map(({ id, title }) => [id, title])
        .sort(),
      [["odds", "100% or %ZZ%"], ["sums", "1 + 1 = 2"]],
    );
  });
});

Deno.test("GET /rooms/:room - the page knows the visitor's name and author id there, never their session id or token", async () => {
  await withServer(async (server) => {
    await createRoom(server, "lobby", "The Lobby");
    const { token } = await (await fetch(`${server.origin}/api/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "ann" }),
    })).json();
    const session = server.services.sessions.verify(token)!;
    const { html, response } = await getPage(server, "/rooms/lobby", {
      headers: { cookie: `parley_session=${token}` },
    });
    // The page is the visitor's own: no shared cache may keep it for another.
    assert.equal(response.headers.get("cache-control"), "private, no-cache");
    const [chat] = islandsOf(html);
    assert.deepEqual(chat.props.speaker, {
      name: "ann",
      authorId: server.services.sessions.authorId(session, "lobby"),
    });
    assert.ok(!html.includes(session.sid), "the session id is in the page");
    assert.ok(!html.includes(token.split(".")[2]), "the token is in the page");
  });
});

const INVALID_FORMS: Array<{ name: string; fields: Record<string, string>; error: string }> = [
  {
    name: "a malformed room id",
    fields: { id: "Bad Id!", title: "Fine" },
    // With an id made of what was typed.
    error: `${ROOM_ID_RULE}: "bad-id" would do`,
  },
  { name: "an empty room id", fields: { id: "", title: "Fine" }, error: "A room id is 1 to 48" },
  { name: "a missing title", fields: { id: "fine" }, error: "The title must not be empty" },
  {
    name: "a title over 80 characters",
    fields: { id: "fine", title: "t".repeat(81) },
    error: "The title is 81 characters, the limit is 80",
  },
];

for (const { name, fields, error } of INVALID_FORMS) {
  Deno.test(`POST / - ${name} is a 400 page with the error`, async () => {
    await withServer(async (server) => {
      await createRoom(server, "lobby", "The Lobby");
      const { status, html } = await postForm(server, fields);
      assert.equal(status, 400);
      const alert = html.match(/<p class="form-error" role="alert">([^<]*)<\/p>/);
      assert.ok(alert, "no error shown");
      assert.ok(decodeEntities(alert[1]).startsWith(error), alert[1]);
      // The form comes back with what was typed, and the directory is still there.
      assert.match(html, /<form class="create-room" method="post" action="\/">/);
      assert.ok(inputTag(html, "id").includes(` value="${fields.id}"`) || !fields.id);
      assert.ok(inputTag(html, "title").includes(` value="${fields.title}"`) || !fields.title);
      assert.ok(directoryItem(html, "lobby").includes("The Lobby"));
      assert.deepEqual(await roomIds(server), ["lobby"]);
    });
  });
}

Deno.test("GET /rooms/:room - server-renders the latest 50 of 60 messages", async () => {
  await withServer(async (server) => {
    await createRoom(server, "lobby", "The Lobby");
    for (let i = 1; i <= 60; i++) await post(server, "lobby", numbered(i));

    const { status, html } = await getPage(server, "/rooms/lobby");
    assert.equal(status, 200);
    assert.match(html, /<h1 class="room-title">The Lobby /);
    // A phone's keyboard shrinks the page, keeping the message box above it.
    assert.match(html, /<meta name="viewport" content="[^"]*interactive-widget=resizes-content"/);
    for (let i = 1; i <= 10; i++) assert.ok(!html.includes(numbered(i)), `${numbered(i)} shown`);
    const markup = markupOf(html);
    let last = -1;
    for (let i = 11; i <= 60; i++) {
      const at = markup.indexOf(`<p class="text" dir="auto">${numbered(i)}</p>`);
      assert.ok(at > last, `${numbered(i)} missing or out of order`);
      last = at;
    }

    assert.ok(html.includes(ISLANDS_OPEN));
    const { body } = await requestJson(server, "/api/rooms/lobby/messages?limit=50");
    assert.deepEqual(islandsOf(html), [{
      name: "ChatRoom",
      props: {
        room: { id: "lobby", title: "The Lobby", epoch: body.epoch },
        messages: body.messages,
      },
    }]);
  });
});

Deno.test("GET /rooms/:room - an unknown room is a 404 page with a create form", async () => {
  await withServer(async (server) => {
    const { status, html } = await getPage(server, "/rooms/nowhere");
    assert.equal(status, 404);
    assert.match(html, /<h1>No room called “nowhere”<\/h1>/);
    assert.match(
      html,
      /<p>It may never have existed\. <a href="\/">See all rooms<\/a>, or create it now\.<\/p>/,
    );
    assert.match(html, /<form class="create-room" method="post" action="\/">/);
    assert.match(html, /<input name="id"[^>]* value="nowhere"/);
    assert.match(html, /<input name="title"/);
    assert.ok(!html.includes(ISLANDS_OPEN));

    // A room id that could never exist is not offered as the new id, nor quoted: the page would
    // say whatever the link's author wanted.
    const spoof = "Your session expired. Log in at https://evil.example";
    const invalid = await getPage(server, `/rooms/${encodeURIComponent(spoof)}`);
    assert.equal(invalid.status, 404);
    assert.match(invalid.html, /<h1>No room has this address<\/h1>/);
    assert.match(invalid.html, /<p><a href="\/">See all rooms<\/a>, or create one\.<\/p>/);
    assert.match(invalid.html, /<form class="create-room" method="post" action="\/">/);
    assert.match(invalid.html, /<input name="id"[^>]* value[ />]/);
    assert.doesNotMatch(invalid.html, /session expired|evil/);

    assert.deepEqual(await roomIds(server), []);
  });
});

Deno.test("GET /rooms/:room - an id in capitals or with a space points to the room, or offers it", async () => {
  await withServer(async (server) => {
    await createRoom(server, "lobby", "The Lobby");
    for (const path of ["/rooms/Lobby", "/rooms/lobby%20", "/rooms/%20LOBBY!"]) {
      const { status, html } = await getPage(server, path);
      assert.equal(status, 404, path);
      assert.match(html, /Did you mean <a href="\/rooms\/lobby">The Lobby<\/a>\?/, path);
    }
    // A pasted link with a slash at the end opens the room.
    const slashed = await getPage(server, "/rooms/lobby/");
    assert.deepEqual([slashed.status, slashed.response.headers.get("location")], [
      301,
      "/rooms/lobby",
    ]);
    // A lowercase id that is free is offered for the new room.
    const free = await getPage(server, "/rooms/NewRoom");
    assert.equal(free.status, 404);
    assert.doesNotMatch(free.html, /Did you mean/);
    assert.match(free.html, /<input name="id"[^>]* value="newroom"/);
  });
});

/** Asserts that hostile text never appears raw: no element, comment or early script end. */
function assertInert(html: string): void {
  assert.ok(!html.includes(PAYLOAD), "the payload appears raw");
  assert.ok(!html.includes("<img"), "an <img> tag was injected");
  assert.ok(!html.includes("<!--"), "a comment was opened");
  assert.equal(html.match(/<\/script/gi)?.length, 2, "a script was ended early");
  assert.ok(html.endsWith("</body></html>"));
}

Deno.test("GET /rooms/:room - script-breaking message text is escaped in the HTML and the props", async () => {
  await withServer(async (server) => {
    await createRoom(server, "lobby", "The Lobby");
    const message = await post(server, "lobby", PAYLOAD);
    const { status, html } = await getPage(server, "/rooms/lobby");
    assert.equal(status, 200);
    assertInert(html);

    const texts = [...markupOf(html).matchAll(/<p class="text" dir="auto">([^<]*)<\/p>/g)].map((
      m,
    ) => m[1]);
    assert.deepEqual(texts.map(decodeEntities), [PAYLOAD]);
    const [island] = islandsOf(html);
    assert.deepEqual(island.props.messages, [message]);
  });
});

Deno.test("GET /rooms/:room - a script-breaking room title and author are escaped", async () => {
  await withServer(async (server) => {
    const author = "</script><!--x";
    await createRoom(server, "lobby", PAYLOAD);
    await post(server, "lobby", "hello", author);
    const { status, html } = await getPage(server, "/rooms/lobby");
    assert.equal(status, 200);
    assertInert(html);
    assert.ok(!html.includes(author));

    const title = html.match(/<title>([^<]*)<\/title>/);
    assert.ok(title, "the <title> holds markup");
    assert.equal(decodeEntities(title[1]), `${PAYLOAD} · Parley`);
    const shownAuthor = markupOf(html).match(/<bdi class="author">([^<]*)<\/bdi>/);
    assert.ok(shownAuthor, "the author holds markup");
    assert.equal(decodeEntities(shownAuthor[1]), author);
    const [island] = islandsOf(html);
    assert.equal(island.props.room.title, PAYLOAD);
    assert.equal(island.props.messages[0].author, author);

    const directory = await getPage(server, "/");
    assert.ok(!directory.html.includes(PAYLOAD));
    assert.ok(!directory.html.includes("<img"));
  });
});
