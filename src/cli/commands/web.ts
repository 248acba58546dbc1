/**
 * `vibewriter web`: the read-only dashboard (src/web), until Ctrl-C. The URL it prints carries this
 * start's access token: it is printed here and nowhere else (not logged, not in events).
 */
import { startDashboard } from "../../web/server.ts";
import { openCliBackbone } from "../backbone.ts";
import { printJson, type CliContext } from "../context.ts";
import type { CommandPlan } from "../plan.ts";

export async function runWeb(plan: Extract<CommandPlan, { command: "web" }>, ctx: CliContext): Promise<number> {
  const backbone = await openCliBackbone(ctx, "vibewriter-web");
  const dashboard = await startDashboard(backbone, plan.port);
  ctx.defer(() => dashboard.close()); // before the backbone closes
  if (plan.json) printJson(ctx, { ok: true, url: dashboard.loginUrl });
  else ctx.stdout.write(`Dashboard: ${dashboard.loginUrl}  (the token in it is your access: keep it private; Ctrl-C to stop)\n`);
  // Serving ends only with Ctrl-C or SIGTERM: the normal way out, exit 0.
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) return resolve();
    ctx.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  return 0;
}
