/**
 * The words of the connection banner: live, connecting or reconnecting with a countdown,
 * offline or closed, naming the transport in use.
 *
 * @module
 */
import type { ConnectionStatus, TransportName } from "../client.ts";

/** How each transport is named to people. */
export const TRANSPORT_LABELS: Readonly<Record<TransportName, string>> = {
  ws: "WebSocket",
  sse: "Server-Sent Events",
  poll: "long-polling",
};

/** The banner's look: one of these is its `status-*` class. */
export type BannerTone = "connecting" | "live" | "reconnecting" | "offline" | "closed";

/**
 * What the connection banner shows: a label, an optional countdown (shown, but kept out of
 * the screen-reader announcement so it is not read out every second), and a detail: words for
 * everyone, or the transport's name, shown but not read out (jargon nobody needs to hear on
 * every reconnect).
 */
export interface Banner {
  tone: BannerTone;
  label: string;
  /** Whole seconds until the next attempt, while one is scheduled. */
  seconds?: number;
  detail?: string;
  /** The transport's name, as the detail when there is no other. */
  via?: string;
}

/** Whole seconds until `retryAt`, at least 1. */
export function secondsUntil(retryAt: number, now: number): number {
  return Math.max(1, Math.ceil((retryAt - now) / 1000));
}

/**
 * The banner for a connection status at time `now`, with `online` from `navigator.onLine`:
 * "Live · WebSocket", "Reconnecting in 3 s · Server-Sent Events", "Offline · reconnects when you
 * are back online · long-polling", and so on.
 */
export function describeStatus(
  status: ConnectionStatus,
  { now, online }: { now: number; online: boolean },
): Banner {
  const via = TRANSPORT_LABELS[status.transport];
  if (status.state === "closed") {
    switch (status.error) {
      case "room_not_found":
        return { tone: "closed", label: "This room no longer exists" };
      case "invalid_author":
        return {
          tone: "closed",
          label: "That display name cannot be used",
          detail: "pick another",
        };
      default:
        return { tone: "closed", label: "Disconnected", detail: "reload the page to reconnect" };
    }
  }
  if (!online) {
    return {
      tone: "offline",
      label: "Offline",
      detail: "reconnects when you are back online",
      via,
    };
  }
  if (status.state === "live") return { tone: "live", label: "Live", via };
  // The first try, named by no transport: the server's page does not know the one a tab remembers.
  if (status.state === "connecting" && status.retryAt === undefined) {
    return { tone: "connecting", label: "Connecting…" };
  }
  // A page never live is still connecting, however many tries failed: it has nothing to reconnect.
  const tone = status.state;
  const label = tone === "connecting" ? "Connecting" : "Reconnecting";
  return status.retryAt !== undefined && status.retryAt > now
    ? { tone, label, seconds: secondsUntil(status.retryAt, now), via }
    : { tone, label: `${label}…`, via };
}

/** The banner as one line of text, as it reads on screen. */
export function bannerText(banner: Banner): string {
  const countdown = banner.seconds === undefined ? "" : ` in ${banner.seconds} s`;
  const detail = [banner.detail, banner.via].map((part) => part === undefined ? "" : ` · ${part}`)
    .join("");
  return `${banner.label}${countdown}${detail}`;
}
