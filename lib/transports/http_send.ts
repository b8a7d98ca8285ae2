import { fetchWithin } from "../fetch_within.ts";
import { SILENCE } from "./liveness.ts";
import { roomUrl, type TransportEvents, type TransportTarget } from "./transport.ts";

const NETWORK_RETRY_MS = 2_000;

/** Statuses after which the same request may succeed later, so the message stays queued. */
const RETRYABLE = new Set([408, 425, 429, 500, 502, 503, 504]);

/** Tells the room this client is typing, with `POST /api/rooms/:room/typing`. */
export function postTyping(target: TransportTarget, signal: AbortSignal): void {
  fetch(roomUrl(target, "typing"), {
    method: "POST",
    headers: target.token ? { authorization: `Bearer ${target.token}` } : {},
    signal,
  }).then((response) => response.body?.cancel(), () => {});
}

/** What a send over HTTP reports to the transport that made it. */
export type SendEvents = Pick<TransportEvents, "ack" | "rejected" | "retryLater"> & {
  /**
   * No answer started within `SILENCE.sendAnswerMs`: the link has stopped carrying, and the
   * transport gives it up (the message goes again over the next one).
   */
  unanswered(): void;
};

/**
 * Sends one message with `POST /api/rooms/:room/messages`, for the transports that only
 * receive. A network failure or a retryable status asks for the message to be sent again later;
 * no answer in time does too, and says the link is dead.
 */
export async function postMessage(
  target: TransportTarget,
  message: { id: string; text: string },
  events: SendEvents,
  signal: AbortSignal,
): Promise<void> {
  const url = roomUrl(target, "messages");
  let response: Response;
  try {
    response = await fetchWithin(url, SILENCE.sendAnswerMs, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
      },
      body: JSON.stringify({ id: message.id, text: message.text }),
      signal,
    });
  } catch (error) {
    if (signal.aborted) return;
    if ((error as Error).name !== "TimeoutError") {
      return events.retryLater(message.id, NETWORK_RETRY_MS);
    }
    // No answer is a "later" one, counted towards the tries a message gets (or one the server
    // never answers would hold up the ones after it for good); then the link is given up.
    events.retryLater(message.id, 0);
    events.unanswered();
    return;
  }
  const body = await response.json().catch(() => ({}));
  if (response.ok && typeof body.message?.seq === "number") {
    events.ack(message.id, body.message.seq);
  } else if (RETRYABLE.has(response.status)) {
    const seconds = Number(response.headers.get("retry-after"));
    const afterMs = seconds > 0 ? seconds * 1000 : NETWORK_RETRY_MS;
    events.retryLater(message.id, afterMs, body.error?.code);
  } else {
    events.rejected(
      message.id,
      body.error?.code ?? `http_${response.status}`,
      body.error?.message ?? response.statusText,
    );
  }
}
