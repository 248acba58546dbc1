/**
 * The identity a process presents to a server reached through `NATS_URL` when the environment
 * gives no other credentials: this installation's nkey for the process's role, the same keys
 * `vibewriter nats config` prints for the server's authorization (a self-hosted cluster started
 * by scripts/nats-cluster.sh admits exactly them). Nothing is created here: without the key file
 * the connection goes without credentials, as before.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { NatsRole } from "./auth.ts";
import { identitiesDir, loadOrCreateIdentity } from "./identities.ts";

export async function urlIdentitySeed(stateDir: string, role: NatsRole, ownerSeed?: Uint8Array): Promise<Uint8Array | undefined> {
  if (role === NatsRole.Owner) return ownerSeed;
  if (!existsSync(join(identitiesDir(stateDir), `${role}.nk`))) return undefined;
  return (await loadOrCreateIdentity(stateDir, role)).seed;
}
