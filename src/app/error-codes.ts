/** The codes of `AppError` (errors.ts): what the owner's two front ends (CLI, console) tell a user. */
export const AppErrorCode = {
  /** The owner's configuration is wrong (a key list, a policy path). */
  NotConfigured: "not_configured",
  /** A payment proposal named by the owner does not exist. */
  NotFound: "not_found",
  /** The proposal was already decided. */
  NotPending: "not_pending",
  /** The owner's key is locked: the passphrase is not set or wrong. */
  OwnerLocked: "owner_locked",
} as const;
export type AppErrorCode = (typeof AppErrorCode)[keyof typeof AppErrorCode];
