/**
 * The one user-facing error of the `vibewriter` command. Every failure a user can act on becomes a
 * `CliError` with a stable `code` (for `--json` and scripts), a message, and — where there is
 * one — the fix. The runner prints it once; nothing else in the CLI prints errors.
 */
import { AppError, AppErrorCode } from "../app/index.ts";
import { CodedError } from "../errors.ts";
import { CliErrorCode } from "./error-codes.ts";
export { CliErrorCode } from "./error-codes.ts";

/** Its `fix` is what the user should do about it, one or two lines; printed after the message. */
export class CliError extends CodedError<CliErrorCode> {
  static override readonly errorName = "CliError";
}

/** Exit code for each error code: 2 for usage (as most CLIs), 130 for Ctrl-C, 1 otherwise. */
export const exitCodeFor: Record<CliErrorCode, number> = {
  usage: 2,
  not_configured: 1,
  not_found: 1,
  failed: 1,
  interrupted: 130,
  check_failed: 1,
};

/** A usage error pointing at the command's help. */
export function usageError(message: string, command?: string): CliError {
  return new CliError(CliErrorCode.Usage, message, {
    fix: `Run \`vibewriter ${command ? `${command} ` : ""}--help\` for usage.`,
  });
}

/**
 * Turns any thrown value into a CliError. Errors from other components keep their own message and
 * code (typed errors in this project carry one), and the original stays as `cause`.
 */
export function toCliError(e: unknown): CliError {
  if (CliError.isInstance(e)) return e;
  // The composition root's errors are already told for a user: same message, same meaning.
  if (AppError.isInstance(e)) return new CliError(CLI_CODE_OF[e.code], e.message, { cause: e, fix: e.fix });
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    const fix = (e as { fix?: unknown; hint?: unknown }).fix ?? (e as { hint?: unknown }).hint;
    const prefix = typeof code === "string" && code.length > 0 ? `${code}: ` : "";
    return new CliError(CliErrorCode.Failed, `${prefix}${e.message}`, {
      cause: e,
      fix: typeof fix === "string" ? fix : undefined,
    });
  }
  return new CliError(CliErrorCode.Failed, String(e), { cause: e });
}

const CLI_CODE_OF: Record<AppErrorCode, CliErrorCode> = {
  [AppErrorCode.NotConfigured]: CliErrorCode.NotConfigured,
  [AppErrorCode.NotFound]: CliErrorCode.NotFound,
  [AppErrorCode.NotPending]: CliErrorCode.Failed,
  [AppErrorCode.OwnerLocked]: CliErrorCode.Failed,
};
