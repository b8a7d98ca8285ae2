import { MAX_TITLE_LENGTH } from "../lib/validation.ts";

/** Values and the error message a create-room form is re-rendered with. */
export interface CreateRoomFormProps {
  id?: string;
  title?: string;
  error?: string;
  /** The field the error is about; the message shows under it. Unset: under the form. */
  field?: "id" | "title";
  /** The id of a room that already has the id asked for, linked from the error. */
  existing?: string;
}

const ERROR_ID = "create-room-error";

/** A plain HTML form (works without JavaScript) that posts to `/` to create a room. */
export function CreateRoomForm(
  { id = "", title = "", error, field, existing }: CreateRoomFormProps,
) {
  const message = error && (
    <div id={ERROR_ID}>
      <p class="form-error" role="alert">
        {error}
        {existing && (
          <>
            {" "}
            <a href={`/rooms/${existing}`}>Open the room</a>
          </>
        )}
      </p>
    </div>
  );
  const invalid = (name: "id" | "title") => error !== undefined && field === name;
  // A refused form comes back as a new page, whose alert is not announced on load: focus goes to
  // the field at fault (the id when it is the whole form), which is described by the error.
  const focused = (name: "id" | "title") =>
    invalid(name) || (name === "id" && error !== undefined && field === undefined);
  return (
    <section class="card create-room-card" id="create-room" aria-labelledby="create-room-heading">
      <form class="create-room" method="post" action="/">
        <h2 id="create-room-heading">Create a room</h2>
        <label>
          <span>Room id</span>
          <input
            name="id"
            required
            maxLength={48}
            pattern="[a-z0-9][a-z0-9_\-]{0,47}"
            title="Lowercase letters, digits, - and _, starting with a letter or digit"
            autoComplete="off"
            spellcheck={false}
            placeholder="lobby"
            value={id}
            autoFocus={focused("id")}
            aria-invalid={invalid("id") || undefined}
            aria-describedby={focused("id") ? `room-id-hint ${ERROR_ID}` : "room-id-hint"}
          />
        </label>
        <small id="room-id-hint">
          Lowercase letters, digits, - and _. It becomes the link: /rooms/<i>id</i>
        </small>
        {invalid("id") && message}
        <label>
          <span>Title</span>
          <input
            name="title"
            required
            // Characters count, not the field's UTF-16 units (two for an emoji): see the name field.
            maxLength={2 * MAX_TITLE_LENGTH}
            placeholder="The lobby"
            value={title}
            autoFocus={focused("title")}
            aria-invalid={invalid("title") || undefined}
            aria-describedby={invalid("title") ? ERROR_ID : undefined}
          />
        </label>
        {invalid("title") && message}
        {error !== undefined && field === undefined && message}
        <button type="submit">Create room</button>
      </form>
    </section>
  );
}
