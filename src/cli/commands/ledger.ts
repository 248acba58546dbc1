/** `vibewriter ledger verify`: walk the audit ledger's hash chain and report what is wrong. */
import { AuditLedger } from "../../wallet/index.ts";
import { openCliBackbone } from "../backbone.ts";
import { loadTrust, viewerLedger } from "../../app/index.ts";
import { printJson, type CliContext } from "../context.ts";
import type { CommandPlan } from "../plan.ts";

export async function runLedgerVerify(plan: Extract<CommandPlan, { command: "ledger-verify" }>, ctx: CliContext): Promise<number> {
  const backbone = await openCliBackbone(ctx);
  const ledger = await AuditLedger.open(backbone, viewerLedger(ctx.env, await loadTrust(ctx.env)));
  const result = await ledger.verify();
  if (plan.json) {
    printJson(ctx, result);
  } else if (result.ok) {
    ctx.stdout.write(`ledger intact: ${result.entries} entries, head ${result.head.slice(0, 16)}…${result.anchor ? `, matches the anchor outside NATS (entry ${result.anchor.index})` : ", no anchor yet"}\n`);
    if (result.tamperAttempts) ctx.stdout.write(`  ${result.tamperAttempts} refused tamper attempt(s) on record: vibewriter payments\n`);
  } else {
    ctx.stdout.write(`ledger BROKEN: ${result.problems.length} problem(s) in ${result.entries} entries\n`);
    for (const p of result.problems) ctx.stdout.write(`  seq ${p.seq}: ${p.kind}: ${p.detail}\n`);
  }
  return result.ok ? 0 : 1;
}
