/** The codes of `WebError` (errors.ts), each answered with one HTTP status. */
export const WebErrorCode = {
  /** The request is malformed: a bad id, path, body or parameter (400). */
  BadRequest: "bad_request",
  /** No such thread, file or proposal (404). */
  NotFound: "not_found",
  /** The request cannot be done in the current state: decided already, no owner's key here (409). */
  Conflict: "conflict",
  /** A body or file over its limit (413). */
  TooLarge: "too_large",
} as const;
export type WebErrorCode = (typeof WebErrorCode)[keyof typeof WebErrorCode];

export const HTTP_STATUS_OF: Record<WebErrorCode, number> = {
  bad_request: 400,
  not_found: 404,
  conflict: 409,
  too_large: 413,
};
