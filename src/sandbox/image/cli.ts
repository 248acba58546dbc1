/**
 * `npx tsx src/sandbox/image/cli.ts [--template] [--json]`: builds (or finds cached) the guest
 * image and, with --template, the default template snapshot the sandbox pool restores. Used by
 * scripts/setup.sh; safe to run again (both are cached by content hash).
 */
import { DEFAULT_SHAPE } from "../pool.ts";
import { ensureTemplate } from "../snapshot.ts";
import { QemuDriver } from "../vmm/qemu.ts";
import { buildImage } from "./build.ts";

const json = process.argv.includes("--json");
const withTemplate = process.argv.includes("--template");
const say = (line: string) => !json && console.log(line);
const started = Date.now();
try {
  const image = await buildImage({ log: (l) => say(`  ${l}`) });
  say(`guest image ${image.hash} ${image.built ? "built" : "up to date"} in ${((Date.now() - started) / 1000).toFixed(1)} s: ${image.dir}`);
  let template: string | null = null;
  if (withTemplate) {
    const t = Date.now();
    const driver = new QemuDriver();
    const accel = await driver.accel(image);
    const snap = await ensureTemplate(driver, image, DEFAULT_SHAPE, { log: (l) => say(`  ${l}`) });
    template = snap.dir;
    say(`template snapshot (${accel}) ready in ${((Date.now() - t) / 1000).toFixed(1)} s: ${snap.dir}`);
  }
  if (json) console.log(JSON.stringify({ ...image, template, seconds: (Date.now() - started) / 1000 }));
} catch (err) {
  console.error(`guest image build failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
