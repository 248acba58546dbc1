/** Opens the NATS backbone for a command, as the identity the command needs, and registers its closing. */
import { openAppBackbone } from "../app/index.ts";
import { type Backbone, NatsRole } from "../nats/index.ts";
import type { CliContext } from "./context.ts";

export interface CliBackboneOptions {
  /** runtime: runs and the doctor; owner: approve/reject; viewer: everything that only reads. */
  role?: NatsRole;
  /** The owner's unlocked nkey seed (role owner). */
  ownerSeed?: Uint8Array;
}

export async function openCliBackbone(ctx: CliContext, name = "vibewriter-cli", opts: CliBackboneOptions = {}): Promise<Backbone> {
  const backbone = await openAppBackbone({ env: ctx.env, name, role: opts.role ?? NatsRole.Viewer, ownerSeed: opts.ownerSeed });
  ctx.defer(() => backbone.close());
  return backbone;
}
