import type { Context } from "hono";
import { CreateRoomForm, type CreateRoomFormProps } from "../components/CreateRoomForm.tsx";
import { Layout } from "../components/Layout.tsx";
import { RoomList } from "../components/RoomList.tsx";
import { MAX_BODY_BYTES, readLimited } from "../lib/body.ts";
import { ParleyError } from "../lib/errors.ts";
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
    try {
      const { room } = await c.var.services.log.createRoom(
        parseRoomId(values.id.trim()),
        parseTitle(values.title),
      );
      return c.redirect(`/rooms/${room.id}`, 303);
    } catch (error) {
      if (!(error instanceof ParleyError) || error.status !== 400) throw error;
      const rooms = await c.var.services.log.listRooms();
      return renderPage({
        title: "Parley",
        status: 400,
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
