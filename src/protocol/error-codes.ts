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
