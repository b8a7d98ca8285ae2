/**
 * The chat island's composer: the display name, the message box and the send button. Enter
 * sends, Shift+Enter starts a new line; on a touch screen, whose keyboard has no Shift+Enter,
 * Enter starts a new line and the Send button sends. Ctrl+Enter (⌘+Enter) sends everywhere, so a
 * tablet with a keyboard can send without reaching for the screen.
 *
 * @module
 */
import type { ReadonlySignal } from "@preact/signals";
import type { Ref, RefObject } from "preact";
import { MAX_AUTHOR_LENGTH } from "../lib/validation.ts";

/** Props of {@link Composer}. */
export interface ComposerProps {
  roomTitle: string;
  /** What the name field shows: the chosen name, or one being typed. */
  nameText: string;
  /**
   * What the message box holds, as a signal the composer alone reads: a keystroke then re-renders
   * the composer, not the island and its whole message list.
   */
  draft: ReadonlySignal<string>;
  /** A problem to show under the composer, such as a missing name. */
  notice: string;
  /** The name in the field was refused: the notice says why. */
  nameInvalid: boolean;
  /** The text in the box cannot be sent as it is (too long, say): the notice says why. */
  textInvalid: boolean;
  /** False until hydrated: without the script nothing can be sent, so Send stays disabled. */
  interactive: boolean;
  nameRef: Ref<HTMLInputElement>;
  textRef: RefObject<HTMLTextAreaElement | null>;
  /** Told of every keystroke in the name field. */
  onNameText: (text: string) => void;
  /** Told of what the visitor left in the name field (on Enter, or leaving the field). */
  onName: (text: string) => void;
  onDraft: (text: string) => void;
  onSend: () => void;
}

/** Whether the main pointer is a finger: the on-screen keyboard's Enter is its only new line. */
function touchScreen(): boolean {
  return globalThis.matchMedia?.("(pointer: coarse)").matches ?? false;
}

/** Whether a key press in the message box sends what it holds. */
function sendsMessage(event: KeyboardEvent): boolean {
  if (event.key !== "Enter" || event.isComposing) return false;
  if (event.ctrlKey || event.metaKey) return true;
  return !event.shiftKey && !touchScreen();
}

/** The message form. */
export function Composer(props: ComposerProps) {
  // The hint names keys a touch screen's keyboard does not have (it is hidden there too). Known
  // only once hydrated, so the server's page always has it.
  const hinted = !props.interactive || !touchScreen();
  return (
    <form
      class="composer"
      aria-label="Send a message"
      onSubmit={(event) => {
        event.preventDefault();
        props.onSend();
      }}
    >
      <NameField
        text={props.nameText}
        invalid={props.nameInvalid}
        inputRef={props.nameRef}
        onInput={props.onNameText}
        onChange={props.onName}
        onDone={() => props.textRef.current?.focus()}
      />
      <div class="composer-box">
        <label class="visually-hidden" for="composer-text">Message</label>
        <textarea
          id="composer-text"
          ref={props.textRef}
          rows={1}
          dir="auto"
          placeholder={`Message ${props.roomTitle}`}
          aria-invalid={props.textInvalid || undefined}
          // Back in the box, a screen reader says again why the text cannot go.
          aria-describedby={[hinted && "composer-hint", props.textInvalid && "composer-notice"]
            .filter(Boolean).join(" ") || undefined}
          value={props.draft.value}
          onInput={(event) => props.onDraft(event.currentTarget.value)}
          onKeyDown={(event) => {
            if (!sendsMessage(event)) return;
            event.preventDefault();
            props.onSend();
          }}
        />
        {/* Disabled until hydrated, which also stops Enter in the name field from submitting. */}
        {/* With nothing to send it only looks disabled: in the tab order, a click goes to the box. */}
        <button
          type="submit"
          class="send"
          disabled={!props.interactive}
          aria-disabled={props.interactive && !props.draft.value.trim() ? "true" : undefined}
        >
          Send
        </button>
      </div>
      <p class="composer-hint" id="composer-hint">
        <kbd>Enter</kbd> to send · <kbd>Shift</kbd>+<kbd>Enter</kbd> for a new line · <kbd>Esc</kbd>
        {" "}
        for the newest
      </p>
      {props.notice && <p class="notice" role="alert" id="composer-notice">{props.notice}</p>}
      <noscript>
        <p class="notice">Chatting needs JavaScript; the messages above can be read without it.</p>
      </noscript>
    </form>
  );
}

function NameField(
  { text, invalid, inputRef, onInput, onChange, onDone }: {
    text: string;
    invalid: boolean;
    inputRef: Ref<HTMLInputElement>;
    onInput: (text: string) => void;
    onChange: (text: string) => void;
    /** Enter: the name is done (it is taken as the field loses focus), not a message to send. */
    onDone: () => void;
  },
) {
  return (
    <label class="name-field">
      <span>Name</span>
      <input
        name="name"
        ref={inputRef}
        required
        // The server counts characters, a field UTF-16 units (two for an emoji): the field only
        // stops a runaway paste, and the server's rules say when a name is too long.
        maxLength={2 * MAX_AUTHOR_LENGTH}
        autoComplete="nickname"
        placeholder="Your name"
        dir="auto"
        aria-invalid={invalid || undefined}
        aria-describedby={invalid ? "composer-notice" : undefined}
        value={text}
        onInput={(event) => onInput(event.currentTarget.value)}
        onChange={(event) => onChange(event.currentTarget.value)}
        onKeyDown={(event) => {
          if (event.key !== "Enter" || event.isComposing) return;
          event.preventDefault();
          onDone();
        }}
      />
    </label>
  );
}
