/** `vibewriter owner init|show` and `vibewriter nats config`: the owner's identity and the NATS roles. */
import { stateDir } from "../../config/index.ts";
import { embeddedUsers, NATS_ROLES, renderAuthorization, rolePermissions } from "../../nats/index.ts";
import { createOwnerKey, OwnerEnv, readOwnerPublicKey, WalletError, WalletErrorCode } from "../../wallet/index.ts";
import { CliError, CliErrorCode } from "../errors.ts";
import { printJson, type CliContext } from "../context.ts";
import type { CommandPlan } from "../plan.ts";

type Plan<C extends CommandPlan["command"]> = Extract<CommandPlan, { command: C }>;

export async function runOwnerInit(plan: Plan<"owner-init">, ctx: CliContext): Promise<number> {
  let publicKey: string;
  try {
    publicKey = await createOwnerKey(stateDir(ctx.env), ctx.env);
  } catch (e) {
    if (WalletError.isInstance(e) && (e.code === WalletErrorCode.OwnerLocked || e.code === WalletErrorCode.OwnerKeyExists)) {
      throw new CliError(CliErrorCode.Failed, e.message, { cause: e, fix: e.code === WalletErrorCode.OwnerLocked ? `set ${OwnerEnv.Passphrase} to the owner's passphrase` : "vibewriter owner show" });
    }
    throw e;
  }
  if (plan.json) printJson(ctx, { ok: true, publicKey });
  else ctx.stdout.write(`Owner key created: ${publicKey}\nApprovals are now mandates signed with it. Keep ${OwnerEnv.Passphrase} away from runs and workers.\n`);
  return 0;
}

export async function runOwnerShow(plan: Plan<"owner-show">, ctx: CliContext): Promise<number> {
  const publicKey = await readOwnerPublicKey(stateDir(ctx.env), ctx.env);
  if (plan.json) printJson(ctx, { ok: true, publicKey: publicKey ?? null });
  else ctx.stdout.write(publicKey ? `owner ${publicKey}\n` : "The owner has no key yet: vibewriter owner init\n");
  return 0;
}

export async function runNatsConfig(plan: Plan<"nats-config">, ctx: CliContext): Promise<number> {
  const users = await embeddedUsers(stateDir(ctx.env));
  if (plan.json) {
    printJson(ctx, { users: users.map((u) => ({ ...u, permissions: rolePermissions(u.role) })), roles: NATS_ROLES });
    return 0;
  }
  ctx.stdout.write(
    "# Add to your nats-server config (or adapt to your accounts); each process connects with its role's\n" +
      "# credentials: runs and workers as runtime, approve/reject as owner, the dashboard and readers as viewer.\n" +
      (users.some((u) => u.role === "owner") ? "" : "# The owner has no key yet (vibewriter owner init): its entry is missing.\n") +
      renderAuthorization(users),
  );
  return 0;
}
