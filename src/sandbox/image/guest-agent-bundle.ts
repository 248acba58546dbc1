/**
 * Bundles the guest agent (src/guest/, from its entry's path: host code never imports the guest's)
 * into one dependency-free ESM file for Node in the VM. The image builder copies it to
 * /opt/vibewriter/agent.mjs; tests run it on the host.
 */
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const SRC = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const GUEST_ENTRY = join(SRC, "guest", "main.ts");
export const DEFAULT_AGENT_OUT = join(SRC, "..", "dist", "guest", "agent.mjs");

export async function buildGuestAgent(outFile: string = DEFAULT_AGENT_OUT): Promise<void> {
  await mkdir(dirname(outFile), { recursive: true });
  await build({
    entryPoints: [GUEST_ENTRY],
    outfile: outFile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    // Only node: built-ins may remain: the guest has Node and nothing else.
    packages: "bundle",
    external: ["node:*"],
    logLevel: "warning",
    legalComments: "none",
  });
}
