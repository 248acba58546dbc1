/**
 * `vibewriter image build`: build (or find up to date) the microVM guest image, then the template
 * snapshot the sandbox pool restores VMs from (so the first run does not pay for a cold boot).
 * Both are cached by content hash: running it again is cheap.
 */
import { buildImage, DEFAULT_SHAPE, ensureTemplate, QemuDriver } from "../../sandbox/index.ts";
import { imagesDirFor } from "../doctor/probes.ts";
import { printJson, type CliContext } from "../context.ts";
import type { CommandPlan } from "../plan.ts";

export async function runImageBuild(plan: Extract<CommandPlan, { command: "image-build" }>, ctx: CliContext): Promise<number> {
  const started = Date.now();
  const seconds = (since: number) => Number(((Date.now() - since) / 1000).toFixed(1));
  // Progress goes to stderr so that --json keeps stdout to one document.
  const log = (line: string) => ctx.stderr.write(`  ${line}\n`);
  const image = await buildImage({ imagesDir: imagesDirFor(ctx.env), log });
  const imageSeconds = seconds(started);
  if (!plan.json) ctx.stdout.write(`guest image ${image.hash} ${image.built ? "built" : "up to date"} in ${imageSeconds} s: ${image.dir}\n`);

  const t = Date.now();
  const driver = new QemuDriver();
  ctx.defer(() => driver.killAllSync()); // a template boot cut short by Ctrl-C leaves no QEMU
  const accel = await driver.accel(image);
  const template = await ensureTemplate(driver, image, DEFAULT_SHAPE, { log });
  if (plan.json) printJson(ctx, { ok: true, ...image, template: template.dir, accel, seconds: seconds(started) });
  else ctx.stdout.write(`template snapshot (${accel}) ready in ${seconds(t)} s: ${template.dir}\n`);
  return 0;
}
