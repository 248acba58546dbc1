import { homedir } from "node:os";
import { join } from "node:path";

/**
 * Where Vibewriter keeps what must outlive a process: the embedded nats-server's store, the guest
 * image cache, VM snapshots, the encrypted wallet. `VIBEWRITER_STATE_DIR` overrides it (tests point
 * it at a temporary folder); otherwise the XDG state directory.
 */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VIBEWRITER_STATE_DIR) return env.VIBEWRITER_STATE_DIR;
  const xdg = env.XDG_STATE_HOME || join(homedir(), ".local", "state");
  return join(xdg, "vibewriter");
}

/** A named sub-folder of the state directory. */
export function statePath(...parts: string[]): string {
  return join(stateDir(), ...parts);
}
