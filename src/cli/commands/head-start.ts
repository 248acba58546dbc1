/**
 * What a run can start before it loads the agent (a second or more of LangChain, deepagents and
 * SDKs): the embedded nats-server, and, when the run will surely open a sandbox, the restore of its
 * VM. Both run beside the loading (nats-server and QEMU are processes of their own). Hands back the
 * process's VM pool, which the run then opens its thread's sandbox from.
 */
import type { VmPool } from "../../app/index.ts";
import type { CliContext } from "../context.ts";
import { startEmbeddedNatsEarly } from "../early-nats.ts";

export async function headStart(ctx: CliContext, verb: string, opts: { vm: boolean }): Promise<VmPool> {
  const nats = startEmbeddedNatsEarly(ctx, `vibewriter-${verb}-head-start-${process.pid}`);
  nats.catch(() => {}); // awaited below; meanwhile the VM's restore starts
  const vms = new (await import("../../app/vm-pool.ts")).VmPool({ env: ctx.env });
  if (opts.vm) vms.prewarm();
  await nats;
  return vms;
}
