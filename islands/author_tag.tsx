/**
 * The tag shown after a name someone else here has too (see `authorTag`), in the message list
 * and the list of who is online alike.
 *
 * @module
 */

/** A session's tag after its name; read out with the name, as part of it. */
export function AuthorTag({ tag }: { tag: string }) {
  return (
    <span class="author-tag" title="Someone else here has this name too: this tag is theirs alone">
      {tag}
    </span>
  );
}
