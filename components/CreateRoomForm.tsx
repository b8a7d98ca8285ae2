/** Values and the error message a create-room form is re-rendered with. */
export interface CreateRoomFormProps {
  id?: string;
  title?: string;
  error?: string;
}

/** A plain HTML form (works without JavaScript) that posts to `/` to create a room. */
export function CreateRoomForm({ id = "", title = "", error }: CreateRoomFormProps) {
  return (
    <form class="create-room" method="post" action="/">
      <h2>Create a room</h2>
      <label>
        <span>Room id</span>
        <input
          name="id"
          required
          maxLength={48}
          pattern="[a-z0-9][a-z0-9_\-]{0,47}"
          placeholder="lobby"
          value={id}
          aria-describedby="room-id-hint"
        />
      </label>
      <small id="room-id-hint">Lowercase letters, digits, - and _ (used in the link)</small>
      <label>
        <span>Title</span>
        <input name="title" required maxLength={80} placeholder="The lobby" value={title} />
      </label>
      {error && <p class="form-error" role="alert">{error}</p>}
      <button type="submit">Create room</button>
    </form>
  );
}
