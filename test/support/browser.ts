/**
 * A real browser for tests: Debian's `chromium` (apt), driven by `playwright-core`. Playwright never
 * downloads a browser here (`playwright install` fails on this network and is not needed).
 *
 *   const browser = await startTestBrowser();
 *   const page = await browser.newPage({ width: 1280, height: 800 });
 *   ...
 *   await browser.close();
 *
 * Playwright gives each launch a fresh temporary profile (chromium's --user-data-dir, removed on
 * close), and each page its own context, so cookies never leak from one test to the next. The flags are the ones NOTES.md measured: headless as root
 * needs --no-sandbox, and on the closed network chromium's background services must be off or it
 * keeps trying (and failing) to reach Google.
 */
import { access, constants } from "node:fs/promises";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

/** Where Debian installs it; `VIBEWRITER_CHROMIUM` points elsewhere (another distribution). */
export const CHROMIUM_PATH = process.env.VIBEWRITER_CHROMIUM ?? "/usr/bin/chromium";

const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface Viewport {
  width: number;
  height: number;
}

export interface TestBrowser {
  readonly browser: Browser;
  /** A new isolated context (its own cookies) with one page at this size. */
  newPage(viewport?: Viewport): Promise<Page>;
  /** A new isolated context, for tests that open several pages in it. */
  newContext(viewport?: Viewport): Promise<BrowserContext>;
  close(): Promise<void>;
}

/** Fails with the command that installs the browser when the binary is missing. */
async function requireChromium(): Promise<void> {
  try {
    await access(CHROMIUM_PATH, constants.X_OK);
  } catch {
    throw new Error(
      `No chromium at ${CHROMIUM_PATH}: the browser tests drive Debian's chromium. Install it with ` +
        "`apt-get install chromium` (or set VIBEWRITER_CHROMIUM to another chromium binary). " +
        "Do not run `playwright install`: it downloads a browser and is not used here.",
    );
  }
}

/** `args`: more chromium flags (e.g. `--host-resolver-rules=MAP evil.example 127.0.0.1` to play DNS rebinding). */
export async function startTestBrowser(opts: { args?: string[] } = {}): Promise<TestBrowser> {
  await requireChromium();
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...FLAGS, ...(opts.args ?? [])] });
  } catch (e) {
    throw new Error(`chromium at ${CHROMIUM_PATH} did not start: ${(e as Error).message}`, { cause: e });
  }
  const newContext = (viewport: Viewport = { width: 1280, height: 800 }) => browser.newContext({ viewport });
  return {
    browser,
    newContext,
    async newPage(viewport) {
      const context = await newContext(viewport);
      return context.newPage();
    },
    async close() {
      await browser.close();
    },
  };
}
