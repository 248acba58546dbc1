/** The codes of `CliError` (errors.ts): snake_case, like every layer's. */
export const CliErrorCode = {
  /** The command line itself is wrong (unknown command, missing argument, bad option). */
  Usage: "usage",
  /** Something the command needs is not configured (model, wallet, NATS). */
  NotConfigured: "not_configured",
  /** A thread, proposal or file named on the command line does not exist. */
  NotFound: "not_found",
  /** A component the command calls failed (NATS, sandbox, agent, wallet). */
  Failed: "failed",
  /** The user pressed Ctrl-C. */
  Interrupted: "interrupted",
  /** A check (doctor, ledger verify) ran and found problems. */
  CheckFailed: "check_failed",
} as const;
export type CliErrorCode = (typeof CliErrorCode)[keyof typeof CliErrorCode];
