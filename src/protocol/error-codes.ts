/** Error codes the guest may return. Mirrors deepagents' FileOperationError where they overlap. */
export const ErrorCode = {
  FileNotFound: "file_not_found",
  PermissionDenied: "permission_denied",
  IsDirectory: "is_directory",
  NotDirectory: "not_directory",
  InvalidPath: "invalid_path",
  Exists: "exists",
  NotUnique: "not_unique",
  NoMatch: "no_match",
  TooLarge: "too_large",
  NoSpace: "no_space",
  BadRequest: "bad_request",
  Cancelled: "cancelled",
  Internal: "internal",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
export const ERROR_CODES: readonly ErrorCode[] = Object.values(ErrorCode);

/** The codes of `ProtocolError` (errors.ts): a frame or a value that breaks the protocol. */
export const ProtocolErrorCode = {
  /** A frame too large, or whose header is not a JSON object: the channel is unusable after it. */
  BadFrame: "bad_frame",
  /** A value that does not fit its op's schema; the message names the field. */
  BadValue: "bad_value",
} as const;
export type ProtocolErrorCode = (typeof ProtocolErrorCode)[keyof typeof ProtocolErrorCode];
