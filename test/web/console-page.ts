/**
 * A console page in the test browser, logged in through a login URL, and what the browser tests
 * check on every page: no script error, no failed load (a page error or a console error fails the
 * test that opened it). Screenshots go to test-artifacts/console/.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Page } from "playwright-core";
import type { TestBrowser, Viewport } from "../support/browser.ts";

export const SHOTS = join(process.cwd(), "test-artifacts", "console");
export const WIDE: Viewport = { width: 1280, height: 800 };
export const PHONE: Viewport = { width: 375, height: 812 };

const errorsOf = new WeakMap<Page, string[]>();

/** Opens `login` (a `…/?token=` URL): the cookie is set, the token leaves the address bar. */
export async function openConsolePage(browser: TestBrowser, login: string, viewport: Viewport = WIDE): Promise<Page> {
  const page = await browser.newPage(viewport);
  page.setDefaultTimeout(5_000); // one read of the page; poll() retries for longer
  const errors: string[] = [];
  errorsOf.set(page, errors);
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`${m.text()} ${m.location().url}`);
  });
  await page.goto(login);
  // The first load on a loaded machine (the VM lane beside this one) may take more than one read's 5 s.
  await page.locator("body[data-ready='true']").waitFor({ timeout: 30_000 });
  if (page.url().includes("token=")) throw new Error(`the login did not drop the token from the address: ${page.url()}`);
  return page;
}

/** Script errors and failed loads the page reported. */
export const pageErrors = (page: Page): string[] => errorsOf.get(page) ?? [];

export async function shoot(page: Page, name: string): Promise<void> {
  await mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}
