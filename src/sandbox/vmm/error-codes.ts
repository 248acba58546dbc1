/** The codes of `VmmError` (driver.ts): snake_case, like every layer's. */
export const VmmErrorCode = {
  BinaryMissing: "binary_missing",
  ImageMissing: "image_missing",
  BadSpec: "bad_spec",
  StartFailed: "start_failed",
  NotReady: "not_ready",
  VmExited: "vm_exited",
  SnapshotFailed: "snapshot_failed",
  SnapshotMismatch: "snapshot_mismatch",
  Unsupported: "unsupported",
  /** QEMU's monitor (QMP) refused a command or its connection closed. */
  Qmp: "qmp_failed",
} as const;
export type VmmErrorCode = (typeof VmmErrorCode)[keyof typeof VmmErrorCode];
