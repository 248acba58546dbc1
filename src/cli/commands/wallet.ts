/**
 * `vibewriter wallet create|import|show` and `vibewriter payments`: the owner's keys and the
 * payment proposals, through the wallet's owner functions. Public facts only: public keys,
 * amounts, statuses; never a seed or a passphrase.
 */
import { createWalletKey, importWalletKey, listPayments, PaymentStatus, walletStatus } from "../../wallet/index.ts";
import { openCliBackbone } from "../backbone.ts";
import { CliError, CliErrorCode } from "../errors.ts";
import { printJson, type CliContext } from "../context.ts";
import type { CommandPlan } from "../plan.ts";
import { readSecretFromStdin } from "../secret-input.ts";
import { policyPathFor } from "../../app/index.ts";

type Plan<C extends CommandPlan["command"]> = Extract<CommandPlan, { command: C }>;

export async function runWalletCreate(plan: Plan<"wallet-create">, ctx: CliContext): Promise<number> {
  const key = await createWalletKey(ctx.env, plan.name);
  if (plan.json) printJson(ctx, { ok: true, ...key });
  else ctx.stdout.write(`Created wallet key "${key.name}": ${key.publicKey}\n(The secret stays encrypted in the keystore; it is never shown.)\n`);
  return 0;
}

export async function runWalletImport(plan: Plan<"wallet-import">, ctx: CliContext): Promise<number> {
  const seed = await readSecretFromStdin(`Secret seed for "${plan.name}" (S…, not echoed): `, ctx.stderr);
  if (seed.reveal() === "") throw new CliError(CliErrorCode.Usage, "No seed on stdin.", { fix: "Pipe it in, e.g. `vibewriter wallet import NAME < seed.txt`." });
  const key = await importWalletKey(ctx.env, plan.name, seed);
  if (plan.json) printJson(ctx, { ok: true, ...key });
  else ctx.stdout.write(`Imported wallet key "${key.name}": ${key.publicKey}\n`);
  return 0;
}

export async function runWalletShow(plan: Plan<"wallet-show">, ctx: CliContext): Promise<number> {
  const status = await walletStatus(ctx.env, policyPathFor(ctx.env));
  if (plan.json) {
    printJson(ctx, status);
    return 0;
  }
  const lines = [`wallet: ${status.locked ? "locked (no unlock key in the environment)" : "unlocked"}`];
  lines.push(status.keys.length ? "keys:" : "keys: none");
  for (const k of status.keys) lines.push(`  ${k.name}  ${k.publicKey}  (created ${k.createdAt})`);
  lines.push(`policy: ${status.policyPath}`);
  if (status.policy) lines.push(...status.policy.split("\n").map((l) => `  ${l}`));
  for (const p of status.problems) lines.push(`problem: ${p}`);
  ctx.stdout.write(lines.join("\n") + "\n");
  return 0;
}

export async function runPayments(plan: Plan<"payments">, ctx: CliContext): Promise<number> {
  const backbone = await openCliBackbone(ctx);
  const payments = await listPayments(backbone, plan.pending ? PaymentStatus.PendingApproval : undefined);
  if (plan.json) {
    printJson(ctx, { payments });
    return 0;
  }
  if (payments.length === 0) {
    ctx.stdout.write(plan.pending ? "No payment is waiting for approval.\n" : "No payment proposals yet.\n");
    return 0;
  }
  for (const p of payments) {
    const what = `${p.amount ?? p.requested.amount} ${p.asset ?? p.requested.asset} to ${p.destination ?? p.requested.destination}`;
    const why = p.refusal ? ` — REFUSED, nothing signed: ${p.refusal.reason}` : p.decision?.reason ? ` — ${p.decision.reason}` : "";
    ctx.stdout.write(`${p.id}  ${p.status.padEnd(16)}  ${what}  (thread ${p.requestedBy}, ${p.createdAt})${why}\n`);
  }
  return 0;
}
