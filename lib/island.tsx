import { type ComponentType, createContext } from "preact";
import { useContext } from "preact/hooks";

/** One island on a page: which component, with which serialisable props. */
export interface IslandRecord {
  name: string;
  props: unknown;
}

/** Collects the islands rendered on a page so their props can be written once after the body. */
export const IslandCollector = createContext<IslandRecord[] | null>(null);

/** Props of {@link Island}. */
export interface IslandProps<P extends object> {
  /** The name the client registry knows the component by. */
  name: string;
  component: ComponentType<P>;
  props: P;
}

/**
 * Server-renders an island inside a marked element and records its props for hydration,
 * as Fresh does for components under `islands/`.
 */
export function Island<P extends object>({ name, component: Component, props }: IslandProps<P>) {
  const islands = useContext(IslandCollector);
  if (islands === null) throw new Error(`Cannot render island "${name}" outside renderPage`);
  const index = islands.push({ name, props }) - 1;
  return (
    <div data-island={name} data-island-index={index}>
      <Component {...props} />
    </div>
  );
}

/**
 * Serialises island props for a `<script type="application/json">`: `<`, `>` and `&` become
 * JSON escapes, so neither `</script>` nor `<!--` can appear in the page.
 */
export function serializeIslands(islands: IslandRecord[]): string {
  return JSON.stringify(islands)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}
