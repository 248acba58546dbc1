/** Opens the NATS backbone for a command and registers its closing (and the embedded server's stop). */
import { openBackbone, type Backbone } from "../nats/index.ts";
import type { CliContext } from "./context.ts";

export async function openCliBackbone(ctx: CliContext, name = "vibewriter-cli"): Promise<Backbone> {
  const backbone = await openBackbone({ env: ctx.env, name });
  ctx.defer(() => backbone.close());
  return backbone;
}
