import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The bundled sample sources `vibewriter demo` runs on (a fictional company). */
export const SAMPLES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../samples/northwind");
