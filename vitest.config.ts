import { configDefaults, defineConfig } from "vitest/config";

/**
 * Test files that start no VM: no QEMU, no guest image, no `vibewriter run`/`demo` child. `npm test`
 * (scripts/test.mjs) runs them as a second lane beside the VM files, where QEMU leaves a core
 * mostly idle. The lane's QEMU is a stand-in that refuses to boot, so a file listed here that
 * starts a VM fails and says to move it. A file not listed runs in the VM lane: new files are
 * safe by default, only slower.
 */
export const NO_VM_FILES = [
  "test/agent/child-runs.test.ts",
  "test/app/layers.test.ts",
  "test/app/vm-pool.test.ts",
  "test/agent/citations.test.ts",
  "test/agent/events.test.ts",
  "test/agent/guarded-fetch.test.ts",
  "test/agent/model.test.ts",
  "test/agent/provider-standin.test.ts",
  "test/agent/run-options.test.ts",
  "test/agent/sandbox-config.test.ts",
  "test/agent/skills.test.ts",
  "test/agent/prepare-sandbox.test.ts",
  "test/agent/sources.test.ts",
  "test/agent/thread-skills.test.ts",
  "test/config/thread-id.test.ts",
  "test/app/run-service.test.ts",
  "test/architecture/imports.test.ts",
  "test/cli/approve.test.ts",
  "test/cli/doctor-checks.test.ts",
  "test/cli/doctor-cluster.test.ts",
  "test/cli/doctor-provider.test.ts",
  "test/cli/doctor.test.ts",
  "test/cli/events.test.ts",
  "test/cli/export.test.ts",
  "test/cli/fleet.test.ts",
  "test/cli/full-disk.test.ts",
  "test/cli/ledger.test.ts",
  "test/cli/main.test.ts",
  "test/cli/parse.test.ts",
  "test/cli/progress.test.ts",
  "test/cli/prune.test.ts",
  "test/cli/fleet-metrics.test.ts",
  "test/cli/render-child-runs.test.ts",
  "test/cli/run-lease.test.ts",
  "test/cli/worker-metrics.test.ts",
  "test/cli/render.test.ts",
  "test/cli/run-display.test.ts",
  "test/app/run-wallet.test.ts",
  "test/cli/submit.test.ts",
  "test/cli/thread-status.test.ts",
  "test/cli/wallet.test.ts",
  "test/cli/web.test.ts",
  "test/errors.test.ts",
  "test/export/html.test.ts",
  "test/export/markdown.test.ts",
  "test/export/pdf.test.ts",
  "test/export/report-document.test.ts",
  "test/guest/agent.test.ts",
  "test/guest/client.test.ts",
  "test/guest/glob-match.test.ts",
  "test/guest/ops-at-scale.test.ts",
  "test/guest/ops/fs-list.test.ts",
  "test/guest/ops/grep.test.ts",
  "test/guest/session.test.ts",
  "test/guest/transport-socket.test.ts",
  "test/guest/tree-cache.test.ts",
  "test/guest/warm-up.test.ts",
  "test/nats/artifacts.test.ts",
  "test/nats/backbone.test.ts",
  "test/nats/checkpointer.test.ts",
  "test/nats/checkpointer.validation.test.ts",
  "test/nats/cluster-config.test.ts",
  "test/nats/cluster.test.ts",
  "test/nats/disk-full.test.ts",
  "test/nats/embedded-server-durability.test.ts",
  "test/nats/embedded-server.test.ts",
  "test/nats/events.test.ts",
  "test/nats/names.test.ts",
  "test/nats/nkey-crypto.test.ts",
  "test/nats/publish.test.ts",
  "test/nats/replicas.test.ts",
  "test/nats/retention.test.ts",
  "test/nats/run-queue.test.ts",
  "test/nats/server.test.ts",
  "test/nats/settle.test.ts",
  "test/nats/store.test.ts",
  "test/nats/supervisor.test.ts",
  "test/nats/thread-lease.test.ts",
  "test/protocol/framing.test.ts",
  "test/protocol/ops.test.ts",
  "test/protocol/result-frames.test.ts",
  "test/protocol/schema.test.ts",
  "test/sandbox/backend-host.test.ts",
  "test/sandbox/vm-link.test.ts",
  "test/sandbox/backend-paths.test.ts",
  "test/sandbox/image.test.ts",
  "test/sandbox/qemu-args.test.ts",
  "test/sandbox/vmm-handshake.test.ts",
  "test/scripts/nats-cluster.test.ts",
  "test/wallet/admin.test.ts",
  "test/wallet/approval-restart.test.ts",
  "test/wallet/choir.test.ts",
  "test/wallet/hostile-input.test.ts",
  "test/wallet/keystore.test.ts",
  "test/wallet/ledger.test.ts",
  "test/wallet/policy.test.ts",
  "test/wallet/stellar.test.ts",
  "test/wallet/submit.test.ts",
  "test/wallet/trust-boundary.test.ts",
  "test/wallet/wallet.test.ts",
  "test/web/agent-tree.test.ts",
  "test/web/assets.test.ts",
  "test/web/console.browser.test.ts",
  "test/web/console.test.ts",
  "test/web/tokens.test.ts",
];

/** `VIBEWRITER_TEST_LANE` (set by scripts/test.mjs): "vm" = every file but those, "no-vm" = those. */
const lane = process.env.VIBEWRITER_TEST_LANE;

/**
 * Out of `npm test` until it is reliable: the fleet's proof on a 3-node cluster with a NATS node
 * SIGKILLed mid-run. On nats-server 2.9.10 here a worker sometimes stalls for minutes after the
 * node dies (issue 14's note). Run it with `npm run test:fleet-proof`.
 */
const FLEET_PROOF = "test/cli/fleet-cluster.test.ts";
const fleetProof = process.env.VIBEWRITER_FLEET_PROOF === "1";

export default defineConfig({
  test: {
    globals: true, // @langchain/langgraph-checkpoint-validation needs describe/it as globals
    include: lane === "no-vm" ? NO_VM_FILES : ["test/**/*.test.ts"],
    exclude: [...configDefaults.exclude, ...(lane === "vm" ? NO_VM_FILES : []), ...(fleetProof ? [] : [FLEET_PROOF])],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // VMs under TCG and nats-server are heavy: two cores, so one file at a time in each lane.
    fileParallelism: false,
    pool: "forks",
  },
});
