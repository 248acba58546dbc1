/**
 * The owner's console in a real browser (Debian's chromium through playwright-core), on a real
 * nats-server, served by a real `vibewriter web` child process, over a real wallet. Only the run
 * here is recorded: its events are published step by step while the page is open (the live
 * scripted run in a VM is console-run.browser.test.ts).
 *
 * Screenshots of each main view, at 1280 and 375 px wide, go to test-artifacts/console/.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Keypair } from "@stellar/stellar-sdk";
import type { Page } from "playwright-core";
import { main } from "../../src/cli/main.ts";
import { loadTrust, runtimeLedger } from "../../src/app/trust.ts";
import { EventType } from "../../src/nats/event-types.ts";
import { RunQueue } from "../../src/nats/run-queue.ts";
import { startRunService, type WorkerStats } from "../../src/app/run-service.ts";
import { loadPolicyFile } from "../../src/wallet/policy.ts";
import { Wallet } from "../../src/wallet/wallet.ts";
import { captureIo } from "../cli/capture.ts";
import { startTestBrowser, type TestBrowser } from "../support/browser.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";
import { startConsoleChild, type ConsoleChild } from "./console-child.ts";
import { openConsolePage, pageErrors, PHONE, shoot, WIDE } from "./console-page.ts";
import { inViewport, isFocused, poll } from "./page-checks.ts";
import { NOTES, QUOTE, recordedRun, TASK } from "./recorded-run.ts";

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

/** A page logged in as the owner (or with another login URL). */
const ownerPage = (viewport = WIDE, login = web.ownerLoginUrl) => openConsolePage(browser, login, viewport);

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
  ownerPublicKey = trust.ownerPublicKey!;
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

  it("a thread's page opened before its run starts waits for it, then shows it live", async () => {
    const thread = "early-4";
    const page = await ownerPage();
    await page.goto(`${web.origin}/#/thread/${thread}`);
    await page.locator("#thread-waiting").waitFor();
    // A run's first events may come before run.started (its sources are stored first): the page
    // shows the thread at once, under its id, and takes the task's name when it comes.
    await nats.backbone.events.publish(thread, { type: EventType.Warning, data: { message: "preparing the sandbox" } });
    await poll(() => page.locator("#thread-state").count()).toBe(1);
    expect(await page.locator("#view-title").textContent()).toBe(thread);
    await nats.backbone.events.publish(thread, { type: EventType.RunStarted, data: { task: "Started after the page" } });
    await poll(() => page.locator("#view-title").textContent()).toBe("Started after the page");
    await nats.backbone.events.publish(thread, { type: EventType.TodosUpdated, data: { todos: [{ content: "Only step", status: "in_progress" }] } });
    await poll(() => page.locator("#plan li").count()).toBe(1);
    await poll(() => page.locator("#activity-log li").count()).toBe(3);
    // The one expected failed load: the thread did not exist yet when the page first asked.
    expect(pageErrors(page).filter((e) => !e.includes(`404 (Not Found) ${web.origin}/api/threads/${thread}`))).toEqual([]);
    await page.context().close();
  });

  const propose = (id: string, threadId: string, reason = "editor fee") =>
    wallet.propose({ id, destination: dest, asset: "XLM", amount: "30", requestedBy: threadId, reason });
  const card = (page: Page, id: string) => page.locator(`[data-payment='${id}']`);

  it("approves a payment from the page: confirmed, signed by the owner's key in the console, the thread queued to continue, the ledger shows it", async () => {
    // A thread that ran from the queue (submit made the queue) and paused on a payment above the
    // policy's threshold.
    const queue = await RunQueue.open(nats.backbone);
    await nats.backbone.events.publish(QUEUED, { type: EventType.RunQueued, data: { kind: "run", task: "Pay the editor", by: "submit" } });
    expect((await propose("pay-approve", QUEUED)).record.status).toBe("pending_approval");
    const page = await ownerPage();
    await page.goto(`${web.origin}/#/payments`);
    const pending = page.locator("#pending-payments").locator(card(page, "pay-approve"));
    await poll(() => pending.count()).toBe(1);
    await poll(() => pending.locator("[data-field='reason']").textContent()).toMatch(/\S/); // the policy's reason
    expect(await pending.textContent()).toContain("editor fee"); // what the agent said it is for
    await poll(() => page.locator("#pending-count").textContent()).toBe("1 waiting for approval");
    await shoot(page, "payments-1280");

    await pending.getByRole("button", { name: "Approve" }).click();
    const yes = pending.getByRole("button", { name: "Yes, approve" });
    await poll(() => isFocused(yes)).toBe(true); // the confirmation takes the focus
    expect(await pending.locator("[data-question]").textContent()).toContain(`30 XLM to ${dest}`);
    await yes.click();

    const decided = page.locator("#decided-payments").locator(card(page, "pay-approve"));
    await poll(() => decided.locator("[data-result]").textContent()).toMatch(/^Approved: payment pay-approve is now approved\. The thread is queued to continue\.$/);
    await poll(() => isFocused(decided.locator("[data-result]"))).toBe(true);
    await poll(() => decided.locator("[data-field='decidedBy']").textContent()).toBe("console:owner");
    expect(await page.locator("#pending-payments [data-payment]").count()).toBe(0);

    // What the wallet recorded: approved, with the approval in the ledger signed by the owner's key.
    expect((await wallet.get("pay-approve"))?.status).toBe("approved");
    const entries = await wallet.ledger.entries({ proposalId: "pay-approve" });
    expect(entries.at(-1)).toMatchObject({ type: "approval", by: ownerPublicKey });
    // The thread is queued to continue: a worker takes the resume, and the thread's page shows it.
    const resume = await queue.next({ expiresMs: 5_000 });
    expect(resume?.request).toMatchObject({ v: 1, kind: "resume", threadId: QUEUED });
    await resume!.ack();
    expect((await nats.backbone.events.history(QUEUED)).at(-1)).toMatchObject({ type: EventType.RunQueued, data: { kind: "resume", by: "console:owner" } });
    await page.goto(`${web.origin}/#/thread/${QUEUED}`);
    await poll(() => page.locator("#thread-state .st").textContent()).toBe("queued");
    await poll(() => page.locator("#activity-log li[data-type='run.queued']").last().textContent()).toContain("queued (resume, by console:owner)");

    // The ledger view: verified, the approval signed by the owner.
    await page.goto(`${web.origin}/#/ledger`);
    await poll(() => page.locator("#ledger-verification [data-ok]").getAttribute("data-ok")).toBe("true");
    const approval = page.locator("tr[data-kind='approval']").first();
    await poll(() => approval.locator("td").last().getAttribute("title")).toBe(ownerPublicKey);
    expect(await approval.textContent()).toContain("pay-approve");
    await shoot(page, "ledger-1280");
    expect(pageErrors(page)).toEqual([]);
    await page.context().close();
  });

  it("rejects a payment with a reason, by keyboard alone", async () => {
    await propose("pay-reject", RUN, "second opinion");
    const page = await ownerPage();
    await page.goto(`${web.origin}/#/payments`);
    const pending = page.locator("#pending-payments").locator(card(page, "pay-reject"));
    await poll(() => pending.count()).toBe(1);

    // On a fresh load the skip link is the first stop; it moves the focus to the view's heading.
    await page.reload();
    await page.locator("body[data-ready='true']").waitFor();
    await poll(() => pending.count()).toBe(1);
    await page.keyboard.press("Tab");
    await poll(() => isFocused(page.locator("#skip"))).toBe(true);
    expect(await inViewport(page.locator("#skip"))).toBe(true); // shown when focused
    await page.keyboard.press("Enter");
    await poll(() => isFocused(page.locator("#view-title"))).toBe(true);
    expect(page.url()).toMatch(/#\/payments$/); // the route stayed

    const reason = pending.getByLabel("Reason, if you reject (optional)");
    let presses = 0;
    while (!(await isFocused(reason)) && presses++ < 10) await page.keyboard.press("Tab");
    expect(await isFocused(reason)).toBe(true);
    await page.keyboard.type("over budget this month");
    await page.keyboard.press("Tab"); // Approve
    await page.keyboard.press("Tab"); // Reject
    expect(await isFocused(pending.getByRole("button", { name: "Reject" }))).toBe(true);
    await page.keyboard.press("Enter");
    const yes = pending.getByRole("button", { name: "Yes, reject" });
    await poll(() => isFocused(yes)).toBe(true);
    expect(await pending.locator("[data-question]").textContent()).toContain("(reason: over budget this month)");
    await page.keyboard.press("Enter");

    const result = page.locator("#decided-payments").locator(card(page, "pay-reject")).locator("[data-result]");
    await poll(() => result.textContent()).toMatch(/^Rejected: payment pay-reject is now rejected\./);
    await poll(() => isFocused(result)).toBe(true);
    expect((await wallet.get("pay-reject"))?.status).toBe("rejected");
    expect((await wallet.ledger.entries({ proposalId: "pay-reject" })).at(-1)).toMatchObject({ type: "rejection", by: ownerPublicKey, data: { note: "over budget this month" } });
    expect(pageErrors(page)).toEqual([]);
    await page.context().close();
  });

  it("a viewer, or a console without the owner's key, sees payments but no decision buttons, and the hint says why", async () => {
    await propose("pay-later", RUN);
    const viewer = await ownerPage(WIDE, web.viewerLoginUrl!);
    expect(await viewer.locator("#role").textContent()).toBe("Viewer (read-only)");
    await viewer.goto(`${web.origin}/#/payments`);
    const pending = viewer.locator("#pending-payments").locator(card(viewer, "pay-later"));
    await poll(() => pending.count()).toBe(1);
    expect(await pending.getByRole("button").count()).toBe(0);
    expect(await pending.locator("[data-hint]").textContent()).toMatch(/viewer/);
    // Even with its own CSRF token, a viewer's POST is refused.
    const status = await viewer.evaluate(async () => {
      const { csrf } = (await (await fetch("/api/session")).json()) as { csrf: string };
      const r = await fetch("/api/payments/pay-later/approve", { method: "POST", headers: { "content-type": "application/json", "x-csrf-token": csrf }, body: "{}" });
      return r.status;
    });
    expect(status).toBe(403);
    await viewer.context().close();

    const locked = await startConsoleChild(env({ VIBEWRITER_OWNER_PASSPHRASE: "" }));
    try {
      const page = await ownerPage(WIDE, locked.ownerLoginUrl);
      await page.goto(`${locked.origin}/#/payments`);
      const lockedCard = page.locator("#pending-payments").locator(card(page, "pay-later"));
      await poll(() => lockedCard.count()).toBe(1);
      expect(await lockedCard.getByRole("button").count()).toBe(0);
      expect(await lockedCard.locator("[data-hint]").textContent()).toContain("VIBEWRITER_OWNER_PASSPHRASE");
      await page.context().close();
    } finally {
      await locked.stop();
    }
    expect((await wallet.get("pay-later"))?.status).toBe("pending_approval");
  });

  it("refuses forged requests: no session cookie, a foreign Host (DNS rebinding), another origin's page, a POST without the CSRF token", async () => {
    await propose("pay-forged", RUN);
    // No cookie: a fresh browser context gets nothing.
    const stranger = await browser.newPage(WIDE);
    const home = await stranger.goto(`${web.origin}/`);
    expect(home!.status()).toBe(401);
    expect(await stranger.evaluate(async () => (await fetch("/api/threads")).status)).toBe(401);
    expect(await stranger.evaluate(async () => (await fetch("/api/payments/pay-forged/approve", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).status)).toBe(401);
    await stranger.context().close();

    // DNS rebinding: evil.example resolves to 127.0.0.1; the browser sends Host: evil.example:PORT.
    const rebinding = await startTestBrowser({ args: [`--host-resolver-rules=MAP evil.example 127.0.0.1`] });
    try {
      const evil = await rebinding.newPage(WIDE);
      const r = await evil.goto(`http://evil.example:${web.port}/?token=${new URL(web.ownerLoginUrl).searchParams.get("token")}`);
      expect(r!.status()).toBe(421); // even with the token: the name is not the console's
      expect(await r!.text()).not.toContain(RUN);
    } finally {
      await rebinding.close();
    }

    // Another origin's page in the owner's browser (same site: ports don't count, so the
    // SameSite cookie is sent): refused by its Origin, whether it asks for CORS or not.
    const page = await ownerPage();
    const other: Server = createServer((_, res) => res.end("<!doctype html><title>elsewhere</title><p>another site</p>"));
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", () => resolve()));
    try {
      await page.goto(`http://127.0.0.1:${(other.address() as { port: number }).port}/`);
      const outcome = await page.evaluate(async (target) => {
        const out: string[] = [];
        try {
          await fetch(`${target}/api/payments/pay-forged/approve`, { method: "POST", credentials: "include", headers: { "content-type": "application/json", "x-csrf-token": "guess" }, body: "{}" });
          out.push("cors:answered");
        } catch {
          out.push("cors:refused");
        }
        try {
          // A "simple" request (no preflight): the Origin check refuses it; the answer is blocked too (CORP).
          await fetch(`${target}/api/payments/pay-forged/approve`, { method: "POST", credentials: "include", mode: "no-cors", body: "{}" });
          out.push("simple:answered");
        } catch {
          out.push("simple:blocked");
        }
        try {
          await fetch(`${target}/api/threads`, { credentials: "include" });
          out.push("read:answered");
        } catch {
          out.push("read:refused");
        }
        return out;
      }, web.origin);
      expect(outcome).toEqual(["cors:refused", "simple:blocked", "read:refused"]);
    } finally {
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }

    // The console's own page, with the cookie, but without the CSRF token (or without JSON).
    await page.goto(`${web.origin}/#/payments`);
    await page.locator("body[data-ready='true']").waitFor();
    const statuses = await page.evaluate(async () => {
      const { csrf } = (await (await fetch("/api/session")).json()) as { csrf: string };
      const noCsrf = await fetch("/api/payments/pay-forged/approve", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      const wrongCsrf = await fetch("/api/payments/pay-forged/approve", { method: "POST", headers: { "content-type": "application/json", "x-csrf-token": csrf.slice(0, -1) + (csrf.endsWith("A") ? "B" : "A") }, body: "{}" });
      const notJson = await fetch("/api/payments/pay-forged/approve", { method: "POST", headers: { "content-type": "text/plain", "x-csrf-token": csrf }, body: "{}" });
      return [noCsrf.status, wrongCsrf.status, notJson.status];
    });
    expect(statuses).toEqual([403, 403, 415]);
    await page.context().close();
    expect((await wallet.get("pay-forged"))?.status).toBe("pending_approval");
    expect(await wallet.ledger.entries({ proposalId: "pay-forged" })).toHaveLength(2); // proposal and decision to ask, nothing since
  });

  it("survives a console restart: the open page reconnects and shows what happened meanwhile, once", async () => {
    const page = await ownerPage();
    await page.goto(`${web.origin}/#/thread/${RUN}`);
    const activity = page.locator("#activity-log li");
    await poll(() => page.locator("#conn").textContent()).toBe("Live");
    // The whole history first (the stream replays it event by event): what the page shows before the restart.
    const before = (await nats.backbone.events.history(RUN)).length;
    await poll(() => activity.count()).toBe(before);
    await web.stop();
    await poll(() => page.locator("#conn").textContent()).toBe("Reconnecting…");
    await nats.backbone.events.publish(RUN, { type: EventType.Warning, data: { message: "published while the console was down" } });
    // Same port, same state dir: the token (and so the page's cookie) still holds.
    web = await startConsoleChild(env(), { port: web.port, args: ["--viewer"] });
    await poll(() => page.locator("#conn").textContent()).toBe("Live");
    await poll(() => activity.count()).toBe(before + 1);
    expect(await activity.last().textContent()).toContain("warning: published while the console was down");
    // Loads that failed while the console was down are expected (refused, reset, cut short); script errors are not.
    const errors = pageErrors(page).filter((e) => !/net::ERR_(CONNECTION_REFUSED|CONNECTION_RESET|EMPTY_RESPONSE|INCOMPLETE_CHUNKED_ENCODING)|Failed to fetch/.test(e));
    expect(errors, errors.join("\n")).toEqual([]);
    await page.context().close();
  });

  it("survives a nats-server restart: the open page carries on from where its stream stopped", async () => {
    const thread = "nats-restart-3";
    await nats.backbone.events.publish(thread, { type: EventType.RunStarted, data: { task: "Outlive a NATS restart" } });
    const page = await ownerPage();
    await page.goto(`${web.origin}/#/thread/${thread}`);
    const activity = page.locator("#activity-log li");
    await poll(() => activity.count()).toBe(1);
    // Killed, not stopped: acknowledged events are on disk; the server comes back on its port.
    await nats.server.kill();
    await nats.server.restart();
    await nats.backbone.events.publish(thread, { type: EventType.Warning, data: { message: "published after the NATS restart" } });
    await poll(() => activity.count()).toBe(2);
    expect(await activity.last().textContent()).toContain("warning: published after the NATS restart");
    await poll(() => page.locator("#conn").textContent()).toBe("Live");
    expect(pageErrors(page).filter((e) => !/ERR_INCOMPLETE_CHUNKED_ENCODING|Failed to fetch/.test(e))).toEqual([]);
    await page.context().close();
  });

  it("the fleet view follows workers live: a worker that starts answering shows up when a run starts, without a reload", async () => {
    const page = await ownerPage();
    await page.goto(`${web.origin}/#/fleet`);
    await poll(() => page.locator("#workers").textContent()).toContain("No worker answers");
    const stats: WorkerStats = {
      workerId: "w-live",
      host: "host-b",
      pid: 9,
      concurrency: 2,
      inFlight: ["fleet-live"],
      finished: 0,
      failed: 0,
      takeovers: 0,
      vms: 1,
      pool: { inUse: 1, restoring: 0, spare: 1, restored: 2, failed: 0 },
    };
    const service = await startRunService(nats.backbone, { queue: await RunQueue.open(nats.backbone), artifacts: nats.backbone.artifacts, worker: () => stats });
    try {
      await nats.backbone.events.publish("fleet-live", { type: EventType.RunStarted, id: "fleet-live:started", data: { task: "live fleet" } });
      await poll(() => page.locator("#workers [data-worker='w-live']").count()).toBe(1);
      expect(await page.locator("#workers [data-worker='w-live']").textContent()).toContain("host-b");
      expect(pageErrors(page)).toEqual([]);
    } finally {
      await service.stop();
      await page.context().close();
    }
  });

  it("every main view reads at 1280 and at 375 px wide (no sideways scrolling); screenshots in test-artifacts/console", async () => {
    const source = (await recordedRun(nats.backbone, RUN)).auditor.id;
    const views: [string, string][] = [
      ["threads", "#/"],
      ["thread", `#/thread/${RUN}`],
      ["source", `#/thread/${RUN}/source/${source}?quote=${encodeURIComponent(QUOTE)}`],
      ["payments", "#/payments"],
      ["ledger", "#/ledger"],
      ["fleet", "#/fleet"],
    ];
    for (const viewport of [WIDE, PHONE]) {
      const page = await ownerPage(viewport);
      for (const [name, hash] of views) {
        await page.goto(`${web.origin}/${hash}`);
        await page.locator("#view-title").waitFor();
        if (name === "thread") await page.locator("#report-html").waitFor();
        if (name === "source") await page.locator("#source-text mark").waitFor();
        const width = await page.evaluate<number>("document.documentElement.scrollWidth");
        expect(width, `${name} at ${viewport.width}`).toBeLessThanOrEqual(viewport.width);
        await shoot(page, `${name}-${viewport.width}`);
      }
      expect(pageErrors(page)).toEqual([]);
      await page.context().close();
    }
  });
});
