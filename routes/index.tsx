import type { Context } from "hono";
import { CreateRoomForm, type CreateRoomFormProps } from "../components/CreateRoomForm.tsx";
import { Layout } from "../components/Layout.tsx";
import RoomDirectory from "../islands/RoomDirectory.tsx";
import { readFormBody } from "../lib/body.ts";
import { clientIp } from "../lib/client_ip.ts";
import { ParleyError } from "../lib/errors.ts";
import { parseShown } from "../lib/directory.ts";
import { Island } from "../lib/island.tsx";
import { rateLimited } from "../lib/limits.ts";
import { renderPage } from "../lib/render_page.tsx";
import { type AppEnv, bodyOptions } from "../lib/services.ts";
import { DIRECTORY_PAGE, type DirectoryListing, normalizeQuery } from "../lib/ui/rooms.ts";
import { parseRoomId, parseTitle, suggestRoomId } from "../lib/validation.ts";

/** Which form field a refused room creation is about, for placing its message. */
function fieldOf(error: ParleyError): CreateRoomFormProps["field"] {
  if (error.code === "invalid_room_id") return "id";
  if (error.code === "invalid_title") return "title";
  return undefined;
}

/**
 * `GET /` shows the directory, filtered by `?q=`, its first `?show=` rooms; `POST /` creates a
 * room from the form and opens it.
 */
export const handler = {
  async GET(c: Context<AppEnv>): Promise<Response> {
    const query = normalizeQuery(c.req.query("q"));
    const limit = parseShown(c.req.query("show"));
    const listing = await c.var.services.directory.list(query, limit);
    return renderPage({
      title: "Parley",
      body: <DirectoryPage listing={listing} query={query} limit={limit} now={Date.now()} />,
    });
  },

  async POST(c: Context<AppEnv>): Promise<Response> {
    const { log, limits, config, directory } = c.var.services;
    const form = await readFormBody(c.req.raw, bodyOptions(c.var.services));
    const values = { id: form.get("id") ?? "", title: form.get("title") ?? "" };
    try {
      const id = parseRoomId(values.id.trim());
      const title = parseTitle(values.title);
      const wait = limits.roomCreation(clientIp(c, config.trustProxy));
      if (wait > 0) throw rateLimited("new rooms", wait);
      const { room, created } = await log.createRoom(id, title);
      if (created) directory.roomCreated();
      // The same form sent twice opens the room it made; another title means the id is taken.
      if (created || room.title === title) return c.redirect(`/rooms/${room.id}`, 303);
      return await refusedForm(c, 409, {
        ...values,
        error: `The id "${id}" is taken by the room "${room.title}": pick another id, or open it`,
        field: "id",
        existing: room.id,
      });
    } catch (error) {
      if (!(error instanceof ParleyError) || ![400, 429].includes(error.status)) throw error;
      const suggestion = error.code === "invalid_room_id" ? suggestRoomId(values.id) : undefined;
      return await refusedForm(c, error.status, {
        ...values,
        error: suggestion ? `${error.message}: "${suggestion}" would do` : error.message,
        field: fieldOf(error),
      });
    }
  },
};

/** The directory again, with the create form's values and why they were refused. */
async function refusedForm(
  c: Context<AppEnv>,
  status: number,
  form: CreateRoomFormProps,
): Promise<Response> {
  const listing = await c.var.services.directory.list("", DIRECTORY_PAGE);
  return renderPage({
    // The title is the first thing a screen reader says of the new page.
    title: "Room not created · Parley",
    status,
    body: (
      <DirectoryPage
        listing={listing}
        query=""
        limit={DIRECTORY_PAGE}
        now={Date.now()}
        form={form}
      />
    ),
  });
}

/** Props of {@link DirectoryPage}. */
export interface DirectoryPageProps {
  /** The rooms that match the search, as many as asked for, and the counts. */
  listing: DirectoryListing;
  /** The search, normalised; "" shows every room. */
  query: string;
  /** How many rooms were asked for (`?show=`). */
  limit: number;
  /** When the page is rendered, for "5 min ago". */
  now: number;
  /** The create form's values and error after a refused POST. */
  form?: CreateRoomFormProps;
}

/**
 * The room directory page: the search and the rooms (an island: the server render applies
 * `?q=` and `?show=`, and the browser searches as you type and shows more in place) and the
 * create-room form.
 */
export default function DirectoryPage(
  { listing, query, limit, now, form }: DirectoryPageProps,
) {
  return (
    <Layout>
      <div class="directory-head">
        <h1>Rooms</h1>
        <a class="button secondary" href="#create-room">New room</a>
      </div>
      <Island
        name="RoomDirectory"
        component={RoomDirectory}
        props={{ listing, query, limit, now }}
      />
      <CreateRoomForm {...form} />
    </Layout>
  );
}
