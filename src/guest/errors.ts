import { CodedError } from "../errors.ts";
import { ErrorCode } from "../protocol/index.ts";

/**
 * An error the agent in the VM reports to the host as `{ ev: "error", code, message }`; the host
 * turns it into a `GuestError` (`src/sandbox/guest-error.ts`) with the same code.
 */
export class GuestAgentError extends CodedError<ErrorCode> {
  static override readonly errorName = "GuestAgentError";
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

/** Turns a Node system error into a GuestAgentError whose message names the view path, not the real one. */
export function toGuestAgentError(err: unknown, viewPath?: string): GuestAgentError {
  if (GuestAgentError.isInstance(err)) return err;
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  const code = (errno && ERRNO_CODES[errno]) || ErrorCode.Internal;
  const what = viewPath ? `${viewPath}: ` : "";
  const reason = errno ?? (err instanceof Error ? err.message : String(err));
  return new GuestAgentError(code, `${what}${describe(code, reason)}`, { cause: err });
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
