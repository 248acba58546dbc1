/**
 * `npx tsx src/sandbox/image/cli.ts [--json]`: builds (or finds cached) the guest image and its
 * template snapshot. Used by scripts/setup.sh.
 */
import { buildImage } from "./build.ts";

const json = process.argv.includes("--json");
const started = Date.now();
try {
  const image = await buildImage({ log: (l) => !json && console.log(`  ${l}`) });
  const took = ((Date.now() - started) / 1000).toFixed(1);
  if (json) console.log(JSON.stringify({ ...image, seconds: Number(took) }));
  else console.log(`guest image ${image.hash} ${image.built ? "built" : "up to date"} in ${took} s: ${image.dir}`);
} catch (err) {
  console.error(`guest image build failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
