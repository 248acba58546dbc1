/**
 * The doctor's look at the embedded store's disk: free space, how much of its JetStream cap the
 * store uses, and the retention setting that keeps it from only growing. Not required: a full
 * disk still lets Vibewriter read, but no run can store a step.
 */
import { guard, CheckStatus, type CheckResult } from "./check.ts";
import { diskSpace, isDiskFull, retentionPolicy, storeUsage } from "../../nats/index.ts";

/** Below this much free space, or above this share of the cap, the store is "nearly full". */
const NEARLY_FULL_BYTES = 512 * 1024 * 1024;
const NEARLY_FULL_SHARE = 0.8;

export interface StoreDiskFinding {
  /** The embedded store's directory; undefined with NATS_URL (the operator's disk). */
  dir?: string;
  /** The running server's `max_file_store`, when recorded. */
  maxFileStore?: number;
}

export function checkNatsDisk(found: StoreDiskFinding, env: NodeJS.ProcessEnv): Promise<CheckResult> {
  return guard({ id: "nats-disk", title: "NATS store disk", required: false }, async () => {
    let expiry: string;
    try {
      const policy = retentionPolicy(env);
      expiry = policy.expireAfterMs === undefined ? "finished threads never expire" : `finished threads expire after ${Math.round(policy.expireAfterMs / 86_400_000 * 10) / 10} days`;
    } catch (e) {
      return { status: CheckStatus.Missing, detail: (e as Error).message, fix: "Set VIBEWRITER_EXPIRE_AFTER to e.g. 30d, 12h or never." };
    }
    if (!found.dir) return { status: CheckStatus.Ready, detail: `NATS_URL: the store's disk is the operator's; ${expiry} (\`vibewriter prune\`)` };
    const { free, size } = diskSpace(found.dir);
    const used = await storeUsage(found.dir);
    const cap = found.maxFileStore;
    const where = `${found.dir}: store ${mib(used)}${cap ? ` of its ${mib(cap)} cap` : ""}, disk ${mib(free)} free of ${mib(size)}`;
    const fix = "Free space on that disk, or run `vibewriter prune` (add --older-than to expire more); the cap follows the free space at the server's next start.";
    if ((await isDiskFull(found.dir)) || (cap !== undefined && used >= cap)) {
      return { status: CheckStatus.Missing, detail: `DISK FULL: ${where}; reading works, no run can store a step`, fix };
    }
    if (free < NEARLY_FULL_BYTES || (cap !== undefined && used > cap * NEARLY_FULL_SHARE)) {
      return { status: CheckStatus.Degraded, detail: `nearly full: ${where}; ${expiry}`, fix };
    }
    return { status: CheckStatus.Ready, detail: `${where}; ${expiry} (\`vibewriter prune\`)` };
  });
}

function mib(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}
