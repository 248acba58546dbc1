/** `vibewriter image build`: build (or find up to date) the microVM guest image. */
import { buildImage } from "../../sandbox/image/build.ts";
import { imagesDirFor } from "../doctor/probes.ts";
import { printJson, type CliContext } from "../context.ts";
import type { CommandPlan } from "../plan.ts";

export async function runImageBuild(plan: Extract<CommandPlan, { command: "image-build" }>, ctx: CliContext): Promise<number> {
  const started = Date.now();
  const imagesDir = imagesDirFor(ctx.env);
  // Progress goes to stderr so that --json keeps stdout to one document.
  const image = await buildImage({ imagesDir, log: (line) => ctx.stderr.write(`  ${line}\n`) });
  const seconds = Number(((Date.now() - started) / 1000).toFixed(1));
  if (plan.json) printJson(ctx, { ok: true, ...image, seconds });
  else ctx.stdout.write(`guest image ${image.hash} ${image.built ? "built" : "up to date"} in ${seconds} s: ${image.dir}\n`);
  return 0;
}
