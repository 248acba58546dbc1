import { ErrorCode } from "../protocol/index.ts";

/** An error the agent reports to the host as `{ ev: "error", code, message }`. */
export class AgentError extends Error {
  override name = "AgentError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const ERRNO_CODES: Record<string, ErrorCode> = {
  ENOENT: ErrorCode.FileNotFound,
  EACCES: ErrorCode.PermissionDenied,
  EPERM: ErrorCode.PermissionDenied,
  EROFS: ErrorCode.PermissionDenied,
  EISDIR: ErrorCode.IsDirectory,
  ENOTDIR: ErrorCode.NotDirectory,
  EEXIST: ErrorCode.Exists,
  ENOTEMPTY: ErrorCode.Exists,
  ENOSPC: ErrorCode.NoSpace,
  EDQUOT: ErrorCode.NoSpace,
  EFBIG: ErrorCode.TooLarge,
  ENAMETOOLONG: ErrorCode.InvalidPath,
  ELOOP: ErrorCode.InvalidPath,
  EINVAL: ErrorCode.InvalidPath,
};

/** Turns a Node system error into an AgentError whose message names the view path, not the real one. */
export function toAgentError(err: unknown, viewPath?: string): AgentError {
  if (err instanceof AgentError) return err;
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  const code = (errno && ERRNO_CODES[errno]) || ErrorCode.Internal;
  const what = viewPath ? `${viewPath}: ` : "";
  const reason = errno ?? (err instanceof Error ? err.message : String(err));
  return new AgentError(code, `${what}${describe(code, reason)}`, { cause: err });
}

function describe(code: ErrorCode, reason: string): string {
  switch (code) {
    case ErrorCode.FileNotFound:
      return "no such file or directory";
    case ErrorCode.PermissionDenied:
      return "permission denied";
    case ErrorCode.IsDirectory:
      return "is a directory";
    case ErrorCode.NotDirectory:
      return "not a directory";
    case ErrorCode.Exists:
      return "already exists";
    case ErrorCode.NoSpace:
      return "no space left on device";
    default:
      return reason;
  }
}
