/** An error a client caused or must hear about: an HTTP status, a snake_case code and a sentence. */
export class ParleyError extends Error {
  /**
   * @param status the HTTP status that fits the error
   * @param code a stable snake_case code for programs
   * @param message a sentence for people
   */
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = "ParleyError";
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
