/**
 * The console watching real runs in microVMs (the model is the scripted one; everything else is
 * real: nats-server, `vibewriter web` and `vibewriter run` child processes, QEMU, the wallet,
 * chromium). Run under `flock /tmp/heavy.lock`: it boots VMs.
 *
 *   1. The page is opened on a thread before its run starts, then `vibewriter run` (the scripted
 *      demo) runs: the page shows it from start to the published, verified report.
 *   2. A run pauses on a payment above the policy's threshold; the owner approves it on the page
 *      (the console signs with the owner's key); the run is resumed and the page shows it continue
 *      to a signed payment, and the ledger the owner-signed approval.
 */
import { fileURLToPath } from "node:url";
import { AIMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { DEMO_TASK } from "../../src/agent/demo-model.ts";
import { paymentProposalId } from "../../src/agent/tools/payment.ts";
import { createVibewriter, RunStatus } from "../../src/agent/vibewriter.ts";
import { loadTrust, runtimeLedger } from "../../src/app/trust.ts";
import { MicroVMBackend } from "../../src/sandbox/backend.ts";
import { imagesDir } from "../../src/sandbox/image/build.ts";
import { Wallet } from "../../src/wallet/wallet.ts";
import { descendants, killAll, spawnCli } from "../cli/child.ts";
import { requireGuestImage } from "../cli/guest-image.ts";
import { startTestBrowser, type TestBrowser } from "../support/browser.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";
import { acquireTestVm, closeTestPool } from "../support/vm.ts";
import { walletFixture, type WalletFixture } from "../wallet/support/fixtures.ts";
import { startConsoleChild, type ConsoleChild } from "./console-child.ts";
import { openConsolePage, pageErrors, shoot } from "./console-page.ts";
import { inViewport, isFocused, poll } from "./page-checks.ts";

const SOURCES = fileURLToPath(new URL("../../samples/northwind", import.meta.url));
/** A run in a VM under TCG takes minutes on two cores. */
const RUN_TIMEOUT = 480_000;

let nats: TestNats;
let fx: WalletFixture;
let web: ConsoleChild;
let browser: TestBrowser;
const leftovers: number[] = [];
const sandboxes: MicroVMBackend[] = [];

/** What `vibewriter web` and `vibewriter run` see: one state dir (owner key, policy, keystore). */
const env = (): NodeJS.ProcessEnv => ({
  ...process.env,
  ...fx.env,
  NATS_URL: nats.server.url,
  USER: "owner",
  VIBEWRITER_POLICY: fx.policyPath,
  VIBEWRITER_IMAGES_DIR: imagesDir(), // the built guest image, not one in the fixture's state dir
  VIBEWRITER_SCRIPTED_MODEL: "demo",
});

beforeAll(async () => {
  await requireGuestImage();
  nats = await startTestNats();
  fx = await walletFixture();
  web = await startConsoleChild(env());
  browser = await startTestBrowser();
});

afterAll(async () => {
  killAll(leftovers);
  for (const s of sandboxes) await s.close().catch(() => {});
  await closeTestPool();
  await browser?.close();
  await web?.stop();
  await nats?.close();
  await fx?.cleanup();
});

describe("the console watching real runs", () => {
  it("shows a scripted run live from its start to the published report, whose footnotes open the quoted sentences", async () => {
    const thread = "console-demo";
    const page = await openConsolePage(browser, web.ownerLoginUrl);
    await page.goto(`${web.origin}/#/thread/${thread}`);
    await page.locator("#thread-waiting").waitFor(); // no such thread yet: the page waits for it

    const run = spawnCli(["run", DEMO_TASK, "--sources", SOURCES, "--thread", thread], env());
    const pids = setInterval(() => leftovers.push(...descendants(run.child.pid!)), 1_000); // QEMU, if it must be killed
    // A run that fails ends the wait at once, with what it said.
    const failed = run.exited.then(({ code, signal }) =>
      code === 0 ? new Promise<never>(() => {}) : Promise.reject(new Error(`vibewriter run ended (${code ?? signal}):\n${run.stdout()}\n${run.stderr()}`)),
    );
    // A check that times out says what the page and the run showed.
    const whileRunning = <T>(check: Promise<T>) =>
      Promise.race([check, failed]).catch(async (e: Error) => {
        const seen = await page.locator("main").innerText().catch(() => "(no page)");
        throw new Error(`${e.message}\n--- page:\n${seen.slice(0, 3000)}\n--- run (exit ${run.child.exitCode}):\n${run.stdout().slice(-2000)}\n${run.stderr().slice(-2000)}`, { cause: e });
      });
    // Everything below arrives over the thread's event stream while the run goes on.
    await whileRunning(poll(() => page.locator("#view-title").textContent(), RUN_TIMEOUT).toBe(DEMO_TASK));
    await whileRunning(poll(() => page.locator("#plan li").count(), RUN_TIMEOUT).toBe(4));
    await whileRunning(poll(() => page.locator("[data-agent='researcher']").count(), RUN_TIMEOUT).toBeGreaterThan(0));
    await shoot(page, "live-run-1280");
    await whileRunning(poll(() => page.locator("#thread-state .st").textContent(), RUN_TIMEOUT).toBe("completed"));
    const { code } = await run.exited;
    clearInterval(pids);
    expect(code, run.stderr()).toBe(0);

    // The whole run was seen live, every event of its log once, from the first to run.finished.
    const logged = (await nats.backbone.events.history(thread)).map((e) => e.type);
    const types = await page.locator("#activity-log li").evaluateAll((lis) => lis.map((li) => li.getAttribute("data-type")));
    expect(types).toEqual(logged);
    expect(types).toContain("report.published");
    expect(types.at(-1)).toBe("run.finished");
    await poll(() => page.locator("#thread-live").textContent()).toBe("run finished: completed");
    await poll(() => page.locator("#plan li[data-todo-status='completed']").count()).toBe(4);
    // Each subagent's tool calls are in the tree, collapsed.
    for (const agent of ["researcher", "verifier", "publisher"]) {
      const node = page.locator(`[data-agent='${agent}']`).first();
      expect(await node.locator("details").count(), agent).toBeGreaterThan(0);
      expect(await node.locator("details[open]").count(), agent).toBe(0);
    }

    // The report: rendered with numbered footnotes, every citation verified.
    await page.locator("#report-html").waitFor();
    const verification = (await page.locator("#report-verification").textContent())!;
    const [, cited, verified] = /(\d+) citations?, (\d+) verified/.exec(verification) ?? [];
    expect(Number(cited)).toBeGreaterThan(10);
    expect(verified).toBe(cited);
    await shoot(page, "report-1280");

    // A footnote's source link opens the source with its quote marked and in view.
    const link = page.locator("#report-html a[href*='/source/']").first();
    const href = (await link.getAttribute("href"))!;
    const quote = new URLSearchParams(href.slice(href.indexOf("?") + 1)).get("quote")!;
    await link.click();
    const mark = page.locator("#source-text mark");
    await poll(() => mark.count()).toBe(1);
    expect((await mark.textContent())!.replace(/\s+/g, " ").trim()).toBe(quote.replace(/\s+/g, " ").trim());
    await poll(() => isFocused(mark)).toBe(true);
    await poll(() => inViewport(mark)).toBe(true);
    // The one expected failed load: the thread did not exist yet when the page first asked.
    expect(pageErrors(page).filter((e) => !e.includes(`404 (Not Found) ${web.origin}/api/threads/${thread}`))).toEqual([]);
    await page.context().close();
  }, RUN_TIMEOUT + 120_000);

  it("a payment approved on the page: the run continues to a signed payment, and the ledger shows the owner's approval", async () => {
    const thread = "console-pay";
    const trust = await loadTrust(fx.env);
    const wallet = await Wallet.open({
      nats: nats.backbone,
      policy: fx.policy,
      signer: await fx.signer(),
      ownerPublicKey: trust.ownerPublicKey!,
      ledger: await runtimeLedger(fx.env, trust),
    });
    const vibewriter = async (model: ReturnType<typeof fakeModel>) => {
      const sandbox = await MicroVMBackend.create({ threadId: thread, vm: await acquireTestVm() });
      sandboxes.push(sandbox);
      return createVibewriter({ backbone: nats.backbone, threadId: thread, model, sandbox, wallet });
    };
    const pay = new AIMessage({
      id: "ai-pay",
      content: "",
      tool_calls: [{ id: "call-30", name: "propose_payment", args: { destination: fx.alice, amount: "30", asset: "XLM", reason: "editor fee" }, type: "tool_call" }],
    });
    const first = await vibewriter(fakeModel().respond(pay));
    const paused = await first.run("Pay the editor 30 XLM.");
    await first.close();
    expect(paused.status).toBe(RunStatus.Interrupted);
    const id = paymentProposalId(thread, "call-30");

    // The thread's page says what it waits for; the owner decides on the payments page.
    const page = await openConsolePage(browser, web.ownerLoginUrl);
    await page.goto(`${web.origin}/#/thread/${thread}`);
    await poll(() => page.locator("#thread-state .st").textContent()).toBe("interrupted");
    await poll(() => page.locator("[data-waiting]").textContent()).toContain(`Payment ${id}: 30 XLM`);
    const card = page.locator(`#thread-payments [data-payment='${id}']`);
    await poll(() => card.locator("[data-field='reason']").textContent()).toMatch(/approval/);
    await card.getByRole("button", { name: "Approve" }).click();
    await card.getByRole("button", { name: "Yes, approve" }).click();
    await poll(() => page.locator(`[data-payment='${id}'] [data-result]`).textContent()).toContain(`Approved: payment ${id} is now approved.`);
    expect(await page.locator(`[data-payment='${id}'] [data-result]`).textContent()).toContain(`vibewriter resume ${thread}`);

    // The owner resumes it (what `vibewriter resume` does); the open page follows the run.
    const second = await vibewriter(fakeModel().respond(new AIMessage({ id: "ai-done", content: "Paid." })));
    const done = await second.resume({ approved: true });
    await second.close();
    expect(done.status).toBe(RunStatus.Completed);
    await poll(() => page.locator("#thread-state .st").textContent()).toBe("completed");
    await poll(() => page.locator(`#thread-payments [data-payment='${id}']`).getAttribute("data-status")).toBe("signed");
    const types = await page.locator("#activity-log li").evaluateAll((lis) => lis.map((li) => li.getAttribute("data-type")));
    expect(types.filter((t) => t === "run.started")).toHaveLength(2); // the run, then its resume, both seen here
    await shoot(page, "paid-thread-1280");

    // The ledger: verified; the approval signed by the owner's key, the signature by the runtime's.
    await page.goto(`${web.origin}/#/ledger`);
    await poll(() => page.locator("#ledger-verification [data-ok]").getAttribute("data-ok")).toBe("true");
    const approval = page.locator("tr[data-kind='approval']").filter({ hasText: id });
    await poll(() => approval.locator("td").last().getAttribute("title")).toBe(trust.ownerPublicKey);
    expect(await page.locator("tr[data-kind='signature']").filter({ hasText: id }).count()).toBe(1);
    expect(pageErrors(page)).toEqual([]);
    await page.context().close();
  }, 300_000);
});
