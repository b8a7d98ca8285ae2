/** An error a client caused or must hear about: an HTTP status, a snake_case code and a sentence. */
export class ParleyError extends Error {
  /**
   * @param status the HTTP status that fits the error
   * @param code a stable snake_case code for programs
   * @param message a sentence for people
   * @param options `retryAfterMs`: when a rate-limited client may try again
   */
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly options: { retryAfterMs?: number } = {},
  ) {
    super(message);
    this.name = "ParleyError";
  }

  /** The error as a JSON response, with `Retry-After` (in whole seconds) when it has one. */
  toResponse(): Response {
    const { retryAfterMs } = this.options;
    const headers = retryAfterMs === undefined
      ? undefined
      : { "retry-after": String(Math.max(1, Math.ceil(retryAfterMs / 1000))) };
    return errorResponse(this.status, this.code, this.message, headers);
  }
}

/** The JSON body every error response carries. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** Builds the error body for a code and message. */
export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

/** Builds a JSON error response. */
export function errorResponse(
  status: number,
  code: string,
  message: string,
  headers?: HeadersInit,
): Response {
  return Response.json(errorBody(code, message), { status, headers });
}

/** The error for a request the server will not finish because it is shutting down: retry soon. */
export function shuttingDown(): ParleyError {
  return new ParleyError(
    503,
    "shutting_down",
    "The server is shutting down: try again in a moment",
    { retryAfterMs: 1_000 },
  );
}

/** The error for a room that does not exist. */
export function roomNotFound(room: string): ParleyError {
  return new ParleyError(404, "room_not_found", `Room "${room}" does not exist`);
}
