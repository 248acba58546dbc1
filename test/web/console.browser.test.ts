/**
 * The owner's console in a real browser (Debian's chromium through playwright-core), on a real
 * nats-server, served by a real `vibewriter web` child process, over a real wallet. Only the run
 * here is recorded: its events are published step by step while the page is open (the live
 * scripted run in a VM is console-run.browser.test.ts).
 *
 * Screenshots of each main view, at 1280 and 375 px wide, go to test-artifacts/console/.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Keypair } from "@stellar/stellar-sdk";
import type { Page } from "playwright-core";
import { main } from "../../src/cli/main.ts";
import { loadTrust, runtimeLedger } from "../../src/cli/trust.ts";
import { EventType } from "../../src/nats/event-types.ts";
import { loadPolicyFile } from "../../src/wallet/policy.ts";
import { Wallet } from "../../src/wallet/wallet.ts";
import { captureIo } from "../cli/capture.ts";
import { startTestBrowser, type TestBrowser } from "../support/browser.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";
import { startConsoleChild, type ConsoleChild } from "./console-child.ts";
import { inViewport, isFocused, poll } from "./page-checks.ts";
import { NOTES, QUOTE, recordedRun, TASK } from "./recorded-run.ts";

const SHOTS = join(process.cwd(), "test-artifacts", "console");
const WIDE = { width: 1280, height: 800 };
const PHONE = { width: 375, height: 812 };
const RUN = "recorded-1";
const QUEUED = "queued-2";

let nats: TestNats;
let state: string;
let wallet: Wallet;
let web: ConsoleChild;
let browser: TestBrowser;
const dest = Keypair.random().publicKey();
let ownerPublicKey = "";

const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  NATS_URL: nats.server.url,
  USER: "owner",
  VIBEWRITER_STATE_DIR: state,
  VIBEWRITER_POLICY: join(state, "policy.json"),
  VIBEWRITER_OWNER_PASSPHRASE: "the owner's own passphrase",
  ...extra,
});

/** A page logged in as the owner (the login URL sets the HttpOnly cookie and drops the token). */
async function ownerPage(viewport = WIDE, login = web.ownerLoginUrl): Promise<Page> {
  const page = await browser.newPage(viewport);
  page.setDefaultTimeout(5_000); // one read of the page; poll() retries for longer
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`${m.text()} ${m.location().url}`);
  });
  (page as Page & { errors?: string[] }).errors = errors;
  await page.goto(login);
  await page.locator("body[data-ready='true']").waitFor();
  expect(page.url()).not.toContain("token="); // the token left the address bar
  return page;
}
const pageErrors = (page: Page) => (page as Page & { errors?: string[] }).errors ?? [];

async function shoot(page: Page, name: string): Promise<void> {
  await mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  nats = await startTestNats();
  state = await mkdtemp(join(tmpdir(), "vw-console-"));
  await writeFile(
    join(state, "policy.json"),
    JSON.stringify({
      version: 1,
      delegation: { expiresAt: "2099-01-01T00:00:00Z" },
      destinations: [dest],
      assets: { XLM: { perTransaction: "50", rollingWindow: { amount: "200", hours: 24 }, approvalAbove: "20" } },
    }),
  );
  // The owner creates their signing identity once; the runtime's wallet knows only its public key.
  const init = captureIo(env());
  expect(await main(["owner", "init"], init)).toBe(0);
  const trust = await loadTrust({ VIBEWRITER_STATE_DIR: state });
  ownerPublicKey = trust.ownerPublicKey;
  wallet = await Wallet.open({
    nats: nats.backbone,
    policy: await loadPolicyFile(join(state, "policy.json")),
    ownerPublicKey: trust.ownerPublicKey,
    ledger: await runtimeLedger({ VIBEWRITER_STATE_DIR: state }, trust),
  });
  web = await startConsoleChild(env(), { args: ["--viewer"] });
  browser = await startTestBrowser();
});

afterAll(async () => {
  await browser?.close();
  await web?.stop();
  await nats?.close();
  if (state) await rm(state, { recursive: true, force: true });
});

describe("the console in a browser", () => {
  it("shows a run live as it happens: the thread appears, then its plan, agents and tool calls, files, and the report", async () => {
    const run = await recordedRun(nats.backbone, RUN);
    const page = await ownerPage();
    await poll(() => page.locator("#conn").textContent()).toBe("Live");
    await shoot(page, "threads-empty-1280");

    const [started, research, notes, published] = run.steps;
    await started!.before!();
    for (const e of started!.events) await nats.backbone.events.publish(RUN, e);
    // The list refreshes from /api/live: the new thread appears without a reload.
    const card = page.locator(`[data-thread='${RUN}']`);
    await card.getByRole("link", { name: TASK }).waitFor();
    await poll(() => card.textContent()).toContain("running");

    await card.getByRole("link", { name: TASK }).click();
    await poll(() => page.locator("#view-title").textContent()).toBe(TASK);
    await poll(() => page.locator("#plan li").count()).toBe(3);
    await poll(() => page.locator("#plan li").first().getAttribute("data-todo-status")).toBe("in_progress");

    for (const e of research!.events) await nats.backbone.events.publish(RUN, e);
    const researcher = page.locator("[data-agent='researcher']");
    await researcher.waitFor();
    const grep = researcher.locator("details[data-tool='grep']");
    await poll(() => grep.getAttribute("data-status")).toBe("ok");
    // A tool call is collapsed: its result shows once opened.
    expect(await grep.locator("pre").last().isVisible()).toBe(false);
    await grep.locator("summary").click();
    await poll(() => grep.locator("pre").last().textContent()).toBe("auditor-letter.txt:3: Going concern.");

    await notes!.before!();
    for (const e of notes!.events) await nats.backbone.events.publish(RUN, e);
    await poll(() => page.locator("#plan li").first().getAttribute("data-todo-status")).toBe("completed");
    // The opened tool call stayed open through the refreshes.
    await poll(() => grep.locator("pre").last().isVisible()).toBe(true);
    const file = page.locator("[data-file='workspace/notes.md']");
    await file.getByRole("button", { name: /View/ }).click();
    await poll(() => page.locator("[data-file-text]").textContent()).toBe(NOTES);
    await poll(() => page.locator("#report-body").textContent()).toContain("No report yet.");

    await published!.before!();
    for (const e of published!.events) await nats.backbone.events.publish(RUN, e);
    await poll(() => page.locator("#thread-state .st").textContent()).toBe("completed");
    await poll(() => page.locator("#thread-live").textContent()).toMatch(/run finished: completed/);
    await poll(() => page.locator("#report-verification").textContent()).toContain("2");
    await poll(() => page.locator("#report-html h3").first().textContent()).toContain("Due diligence");
    await poll(() => page.locator("#plan li[data-todo-status='completed']").count()).toBe(3);
    const activity = page.locator("#activity-log li");
    await poll(() => activity.count()).toBe(run.steps.reduce((n, s) => n + s.events.length, 0)); // each event once
    for (const f of ["html", "md", "pdf"]) await poll(() => page.locator(`[data-export='${f}']`).getAttribute("href")).toBe(`/api/threads/${RUN}/export?format=${f}`);
    await shoot(page, "thread-1280");

    // A footnote opens its source with the quoted sentence marked (it spans a line break there).
    const footnote = page.locator(`#report-html a[href*='/source/${run.auditor.id}']`).first();
    await footnote.click();
    await poll(() => page.url()).toMatch(new RegExp(`#/thread/${RUN}/source/${run.auditor.id}\\?quote=`));
    const mark = page.locator("#source-text mark");
    await poll(() => mark.count()).toBe(1);
    expect((await mark.textContent())!.replace(/\s+/g, " ")).toBe(QUOTE);
    await poll(() => isFocused(mark)).toBe(true);
    await poll(() => inViewport(mark)).toBe(true);
    await shoot(page, "source-1280");
    await page.goBack();
    await poll(() => page.locator("#view-title").textContent()).toBe(TASK);
    expect(pageErrors(page)).toEqual([]);
    await page.context().close();
  });
});
