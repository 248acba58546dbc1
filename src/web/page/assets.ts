/**
 * The console's static assets, as strings (the CLI is one esbuild bundle: no files to serve from
 * disk). The server sends them as `GET /`, `/assets/console.js` and `/assets/console.css`.
 *
 * The script is plain browser JavaScript, no framework and no build step, assembled from one
 * module per view inside one strict-mode function scope (nothing leaks to `window`).
 */
import { CORE_JS } from "./core.ts";
import { CONSOLE_CSS } from "./css.ts";
import { FLEET_JS } from "./fleet.ts";
import { CONSOLE_HTML } from "./html.ts";
import { LEDGER_JS } from "./ledger.ts";
import { PAYMENTS_JS } from "./payments.ts";
import { SOURCE_JS } from "./source.ts";
import { THREAD_JS } from "./thread.ts";
import { THREADS_JS } from "./threads.ts";

export { CONSOLE_CSS, CONSOLE_HTML };

export const CONSOLE_JS = [
  "(function () {",
  '"use strict";',
  CORE_JS,
  PAYMENTS_JS,
  THREADS_JS,
  THREAD_JS,
  SOURCE_JS,
  LEDGER_JS,
  FLEET_JS,
  'if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot); else boot();',
  "})();",
  "",
].join("\n");
