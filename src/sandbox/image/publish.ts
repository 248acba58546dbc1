import { existsSync } from "node:fs";
import { rename, rm } from "node:fs/promises";

/**
 * Moves a finished build folder into place atomically. Several processes may build the same
 * content-addressed folder at once (parallel test runs, setup): the first one to finish wins and
 * later ones discard their copy, so a reader never sees the folder missing or half-replaced.
 */
export async function publishDir(work: string, dir: string): Promise<void> {
  if (existsSync(dir)) {
    await rm(work, { recursive: true, force: true });
    return;
  }
  try {
    await rename(work, dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
    await rm(work, { recursive: true, force: true });
  }
}
