/** The composition root: what runs threads is built here (the VM pool, the worker's run service) and handed down as ports. */
export { discoverWorkers, type FleetWorker } from "./fleet.ts";
export { type RunningRun, startRunService, type VmPoolStats, type WallTimeStats, type WorkerStats } from "./run-service.ts";
export { VmPool } from "./vm-pool.ts";
