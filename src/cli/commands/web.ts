/**
 * `vibewriter web`: the owner's console (src/web), until Ctrl-C. With VIBEWRITER_OWNER_PASSPHRASE
 * set it unlocks the owner's key once, at start, and keeps it in this process to approve or reject
 * payments from the page (the page never sees it); without, payments are read-only. The login URLs
 * it prints carry the tokens: printed here and nowhere else (not logged, not in events).
 */
import { stateDir } from "../../config/index.ts";
import { NatsRole } from "../../nats/index.ts";
import { OwnerEnv } from "../../wallet/index.ts";
import { loadConsoleTokens, type OwnerSeat, PaymentDesk, startConsole } from "../../web/index.ts";
import { openCliBackbone } from "../backbone.ts";
import { printJson, type CliContext } from "../context.ts";
import { openOwnerWallet, ownerName, unlockOwner } from "../../app/index.ts";
import type { CommandPlan } from "../plan.ts";

export async function runWeb(plan: Extract<CommandPlan, { command: "web" }>, ctx: CliContext): Promise<number> {
  const ownerKey = ctx.env[OwnerEnv.Passphrase] ? await unlockOwner(ctx.env) : undefined;
  // The key is unlocked: the passphrase has no further use in this long-lived process.
  delete ctx.env[OwnerEnv.Passphrase];
  const backbone = ownerKey
    ? await openCliBackbone(ctx, "vibewriter-web", { role: NatsRole.Owner, ownerSeed: ownerKey.natsSeed() })
    : await openCliBackbone(ctx, "vibewriter-web");
  let seat: OwnerSeat | undefined;
  let hint = `set ${OwnerEnv.Passphrase} before \`vibewriter web\` to approve or reject payments here`;
  if (ownerKey) {
    try {
      seat = { wallet: await openOwnerWallet(ctx.env, backbone, ownerKey), by: `console:${ownerName(ctx.env)}` };
    } catch (e) {
      hint = `the owner's wallet could not be opened: ${(e as Error).message}`;
    }
  }
  const desk = new PaymentDesk(backbone, seat, hint);
  const tokens = await loadConsoleTokens(stateDir(ctx.env), { viewer: plan.viewer, rotate: plan.newToken });
  const web = await startConsole({ backbone, env: ctx.env, desk, tokens, port: plan.port, ...(plan.host ? { host: plan.host } : {}), viewer: plan.viewer });
  ctx.defer(() => web.close()); // before the backbone closes
  if (plan.json) {
    printJson(ctx, { ok: true, url: web.ownerLoginUrl, ...(web.viewerLoginUrl ? { viewerUrl: web.viewerLoginUrl } : {}), canDecide: desk.canDecide });
  } else {
    ctx.stdout.write(`Console: ${web.ownerLoginUrl}  (the owner's access: keep it private; Ctrl-C to stop)\n`);
    if (web.viewerLoginUrl) ctx.stdout.write(`Viewer (read-only): ${web.viewerLoginUrl}\n`);
    ctx.stdout.write(desk.canDecide ? "Payments: you can approve or reject them in the console.\n" : `Payments: read-only (${desk.hint}).\n`);
  }
  // Serving ends only with Ctrl-C or SIGTERM: the normal way out, exit 0.
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) return resolve();
    ctx.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  return 0;
}
