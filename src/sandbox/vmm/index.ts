export {
  Accel,
  validateSpec,
  VmExitReason,
  VmmError,
  VmmErrorCode,
  type AgentReady,
  type GuestImage,
  type VmExit,
  type VmHandle,
  type VmmDriver,
  type VmSnapshot,
  type VmSpec,
} from "./driver.ts";
export { QemuDriver, QEMU_DRIVER_NAME, type QemuDriverOptions } from "./qemu.ts";
export { probeKvm, type KvmProbeResult } from "./kvm-probe.ts";
