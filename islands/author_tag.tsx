/**
 * A name, and the tag shown after it when someone else here has the name too (see `authorTag`),
 * in the message list and the list of who is online alike.
 *
 * @module
 */

/** A session's tag after its name; read out with the name, as part of it. */
function AuthorTag({ tag }: { tag: string }) {
  return (
    <span class="author-tag" title="Someone else here has this name too: this tag is theirs alone">
      {tag}
    </span>
  );
}

/** A name isolated (`<bdi>`, with `nameClass`), and its tag after it when it has one. */
export function TaggedName(
  { name, tag, nameClass }: { name: string; tag?: string; nameClass?: string },
) {
  return (
    <>
      <bdi class={nameClass}>{name}</bdi>
      {tag && " "}
      {tag && <AuthorTag tag={tag} />}
    </>
  );
}
