/**
 * Starts (or joins) the embedded nats-server before a run loads the agent: loading LangChain,
 * deepagents and the model SDKs takes a second or more, and the server can come up meanwhile.
 * It holds a lease of its own (one more connection), so the server stays up until the command's
 * cleanup, whichever of the command's leases goes last. With `NATS_URL` there is nothing to start.
 */
import { join } from "node:path";
import { stateDir } from "../config/index.ts";
import type { CliContext } from "./context.ts";

/** Resolves once the server answers; its lease is dropped by the command's cleanup. */
export async function startEmbeddedNatsEarly(ctx: CliContext, name: string): Promise<void> {
  // Only the files that start a server: nats/'s surface as a whole loads LangChain (its store).
  const { natsOptionsFromEnv } = await import("../nats/connection.ts");
  if (natsOptionsFromEnv(ctx.env)) return;
  const { NatsRole } = await import("../nats/auth.ts");
  const { embeddedUsers, loadOrCreateIdentity } = await import("../nats/identities.ts");
  const { openEmbeddedServer } = await import("../nats/embedded-server.ts");
  // As openBackbone does for the runtime identity (src/nats/backbone.ts).
  const state = stateDir(ctx.env);
  const { seed } = await loadOrCreateIdentity(state, NatsRole.Runtime);
  const handle = await openEmbeddedServer(join(state, "nats"), name, { seed, users: await embeddedUsers(state) });
  ctx.defer(async () => {
    await handle.nc.close().catch(() => {});
    await handle.release();
  });
}
