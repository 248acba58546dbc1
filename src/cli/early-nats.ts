/**
 * Starts (or joins) the embedded nats-server before a run loads the agent: loading LangChain,
 * deepagents and the model SDKs takes a second or more, and the server can come up meanwhile.
 * It holds a lease of its own (one more connection), so the server stays up until the command's
 * cleanup, whichever of the command's leases goes last. With `NATS_URL` there is nothing to start.
 */
import { join } from "node:path";
import { stateDir } from "../config/paths.ts";
import { NatsRole } from "../nats/auth.ts";
import { natsOptionsFromEnv } from "../nats/connection.ts";
import { openEmbeddedServer } from "../nats/embedded-server.ts";
import { embeddedUsers, loadOrCreateIdentity } from "../nats/identities.ts";
import type { CliContext } from "./context.ts";

/** Resolves once the server answers; its lease is dropped by the command's cleanup. */
export async function startEmbeddedNatsEarly(ctx: CliContext, name: string): Promise<void> {
  if (natsOptionsFromEnv(ctx.env)) return;
  // As openBackbone does for the runtime identity (src/nats/backbone.ts).
  const state = stateDir(ctx.env);
  const { seed } = await loadOrCreateIdentity(state, NatsRole.Runtime);
  const handle = await openEmbeddedServer(join(state, "nats"), name, { seed, users: await embeddedUsers(state) });
  ctx.defer(async () => {
    await handle.nc.close().catch(() => {});
    await handle.release();
  });
}
