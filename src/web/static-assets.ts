/**
 * The page's static files: the HTML shell, its script and its stylesheet (src/web/page/assets.ts,
 * no inline script or style: the CSP forbids both).
 */
import { CONSOLE_CSS, CONSOLE_HTML, CONSOLE_JS } from "./page/assets.ts";

export interface StaticAsset {
  type: string;
  body: string;
}

export const STATIC_ASSETS: ReadonlyMap<string, StaticAsset> = new Map([
  ["/", { type: "text/html; charset=utf-8", body: CONSOLE_HTML }],
  ["/assets/console.js", { type: "text/javascript; charset=utf-8", body: CONSOLE_JS }],
  ["/assets/console.css", { type: "text/css; charset=utf-8", body: CONSOLE_CSS }],
]);
