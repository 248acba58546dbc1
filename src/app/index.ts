/**
 * The composition root: what the CLI, the console and workers are built from — the backbone, the VM
 * pool, the wallet, the owner's trust and payment decisions — handed down to lower layers as ports.
 */
export { openAppBackbone, orBackboneLost } from "./backbone.ts";
export { AppError, AppErrorCode } from "./errors.ts";
export { discoverWorkers, type FleetWorker } from "./fleet.ts";
export { type DecisionOutcome, decidePayment, openOwnerWallet, ownerName, type PaymentDecision, unlockOwner } from "./payment-decision.ts";
export { policyPathFor } from "./run-wallet.ts";
export { type RunningRun, startRunService, type VmPoolStats, type WallTimeStats, type WorkerStats } from "./run-service.ts";
export { Runtime } from "./runtime.ts";
export { loadTrust, viewerLedger } from "./trust.ts";
export { VmPool } from "./vm-pool.ts";
