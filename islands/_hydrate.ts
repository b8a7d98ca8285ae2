/**
 * The browser entry point: hydrates every island the server rendered, with the props it
 * serialised into `#parley-islands`. Bundled by `deno task build`.
 *
 * @module
 */
import { type ComponentChild, h, hydrate } from "preact";
import type { IslandRecord } from "../lib/island.tsx";
import ChatRoom, { type Props as ChatRoomProps } from "./ChatRoom.tsx";
import RoomDirectory, { type Props as RoomDirectoryProps } from "./RoomDirectory.tsx";

/** Every island by name, with the props type it was rendered with on the server. */
const registry: Record<string, (props: unknown) => ComponentChild> = {
  ChatRoom: (props) => h(ChatRoom, props as ChatRoomProps),
  RoomDirectory: (props) => h(RoomDirectory, props as RoomDirectoryProps),
};

const data = document.getElementById("parley-islands")?.textContent ?? "[]";
const islands = JSON.parse(data) as IslandRecord[];
for (const element of document.querySelectorAll<HTMLElement>("[data-island]")) {
  const record = islands[Number(element.dataset.islandIndex)];
  const render = record && registry[record.name];
  if (render) hydrate(render(record.props), element);
}
