export { CheckStatus, summarize, type CheckResult, type DoctorReport } from "./check.ts";
export {
  checkNode,
  checkNatsServerBinary,
  checkNats,
  checkNatsDurability,
  checkQemu,
  checkKvm,
  checkGuestImage,
  checkModel,
  checkModelEndpoint,
  describeModelEndpoint,
  checkWallet,
  checkOwner,
  checkPolicy,
  type NatsFinding,
  type KvmFinding,
  type ImageFinding,
} from "./checks.ts";
export { probeModelEndpoint, EndpointVerdict, type ModelEndpointFinding } from "./model-endpoint.ts";
export { renderDoctorReport } from "./render.ts";
export { atLeast, parseVersion, qemuVersionFrom } from "./versions.ts";
