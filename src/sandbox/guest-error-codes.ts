import { ErrorCode } from "../protocol/index.ts";

/** Guest-reported codes (`protocol.ts`) plus what can go wrong on the host side of the channel. */
export const GuestErrorCode = {
  ...ErrorCode,
  /** The channel closed or the VM died; every pending request gets this. */
  ChannelClosed: "channel_closed",
  /** The request did not finish within its timeout (it was cancelled in the guest). */
  Timeout: "timeout",
  /** The guest sent something that breaks the protocol (the channel is then closed). */
  Protocol: "protocol",
  /** There is no VM to run on (it died and no replacement can be made, or the sandbox closed). */
  Unavailable: "unavailable",
  /** The guest speaks another protocol version. */
  VersionMismatch: "version_mismatch",
  /** Some of /workspace is not in the thread's store yet (the VM has it; saving is retried). */
  WorkspaceUnsaved: "workspace_unsaved",
} as const;
export type GuestErrorCode = (typeof GuestErrorCode)[keyof typeof GuestErrorCode];
