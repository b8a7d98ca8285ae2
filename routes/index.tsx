import type { Context } from "hono";
import { CreateRoomForm, type CreateRoomFormProps } from "../components/CreateRoomForm.tsx";
import { Layout } from "../components/Layout.tsx";
import { RoomList } from "../components/RoomList.tsx";
import { MAX_BODY_BYTES, readLimited } from "../lib/body.ts";
import { clientIp } from "../lib/client_ip.ts";
import { ParleyError } from "../lib/errors.ts";
import { rateLimited } from "../lib/limits.ts";
import { renderPage } from "../lib/render_page.tsx";
import type { AppEnv } from "../lib/services.ts";
import type { Room } from "../lib/types.ts";
import { parseRoomId, parseTitle } from "../lib/validation.ts";

/** `GET /` shows the directory; `POST /` creates a room from the form and opens it. */
export const handler = {
  async GET(c: Context<AppEnv>): Promise<Response> {
    const rooms = await c.var.services.log.listRooms();
    return renderPage({ title: "Parley", body: <DirectoryPage rooms={rooms} /> });
  },

  async POST(c: Context<AppEnv>): Promise<Response> {
    const type = c.req.header("content-type") ?? "";
    if (!type.startsWith("application/x-www-form-urlencoded")) {
      throw new ParleyError(415, "unsupported_media_type", "The form must be URL-encoded");
    }
    const bytes = await readLimited(c.req.raw, MAX_BODY_BYTES);
    const form = new URLSearchParams(new TextDecoder().decode(bytes));
    const values = { id: form.get("id") ?? "", title: form.get("title") ?? "" };
    const { log, limits, config } = c.var.services;
    try {
      const id = parseRoomId(values.id.trim());
      const title = parseTitle(values.title);
      const wait = limits.roomCreation(clientIp(c, config.trustProxy));
      if (wait > 0) throw rateLimited("new rooms", wait);
      const { room } = await log.createRoom(id, title);
      return c.redirect(`/rooms/${room.id}`, 303);
    } catch (error) {
      if (!(error instanceof ParleyError) || ![400, 429].includes(error.status)) throw error;
      const rooms = await c.var.services.log.listRooms();
      return renderPage({
        title: "Parley",
        status: error.status,
        body: <DirectoryPage rooms={rooms} form={{ ...values, error: error.message }} />,
      });
    }
  },
};

/** The room directory page. */
export default function DirectoryPage(
  { rooms, form }: { rooms: Room[]; form?: CreateRoomFormProps },
) {
  return (
    <Layout>
      <h1>Rooms</h1>
      <RoomList rooms={rooms} />
      <CreateRoomForm {...form} />
    </Layout>
  );
}
