/**
 * What the console tests run against: a real nats-server holding a thread built the way a run
 * stores one (its events through the EventLog, its sources and report in the Object Store, files
 * of its /workspace), a real wallet with a policy that asks the owner above 20 XLM, and
 * `vibewriter web` as a real child process. Requests go through node:http so the Host, Origin,
 * Cookie and CSRF headers are exactly what a test sends.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Keypair } from "@stellar/stellar-sdk";
import { sourceFromBytes, storeSources } from "../../src/agent/sources.ts";
import { REPORT_ARTIFACT } from "../../src/agent/tools/publish.ts";
import { main } from "../../src/cli/main.ts";
import { loadTrust, runtimeLedger } from "../../src/app/trust.ts";
import { EventType, type NewEvent } from "../../src/nats/event-types.ts";
import { loadPolicyFile } from "../../src/wallet/policy.ts";
import { Wallet } from "../../src/wallet/wallet.ts";
import { captureIo } from "../cli/capture.ts";
import { spawnCli, type CliChild } from "../cli/child.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";

export const THREAD = "web-t1";
export const OTHER_THREAD = "web-other";
export const PASSPHRASE = "the owner's own passphrase";
/** A file of another thread that no path under THREAD may reach. */
export const OTHER_SECRET = "OTHER-THREAD-CONTENT-7f3a";
export const SOURCE_TEXT = "Northwind Traders reported revenue of 12 million dollars in 2025. Its main market is Europe.";
export const QUOTE = "revenue of 12 million dollars";

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  raw: Buffer;
}

/** Opens a request to 127.0.0.1:`port` with exactly these headers; resolves with the response head. */
export function open(port: number, path: string, headers: Record<string, string> = {}, method = "GET", body?: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, method, headers }, resolve);
    req.on("error", reject);
    req.end(body);
  });
}

export async function call(port: number, path: string, headers: Record<string, string> = {}, method = "GET", body?: string): Promise<Reply> {
  const res = await open(port, path, headers, method, body);
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  return { status: res.statusCode!, headers: res.headers, body: raw.toString("utf8"), raw };
}

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

/** Reads an SSE response frame by frame. */
export function sseReader(res: IncomingMessage) {
  const chunks = res[Symbol.asyncIterator]();
  let buffer = "";
  const parse = (frame: string): SseEvent | undefined => {
    const e: SseEvent = { data: "" };
    let any = false;
    for (const line of frame.split("\n")) {
      if (line.startsWith(":") || line === "") continue;
      const [field, ...rest] = line.split(":");
      const value = rest.join(":").replace(/^ /, "");
      if (field === "id") e.id = value;
      else if (field === "event") e.event = value;
      else if (field === "data") e.data += value;
      else continue;
      any = true;
    }
    return any && e.data !== "" ? e : undefined;
  };
  return {
    /** The next `n` events (comments and `retry:` lines skipped). */
    async next(n: number): Promise<SseEvent[]> {
      const out: SseEvent[] = [];
      while (out.length < n) {
        const end = buffer.indexOf("\n\n");
        if (end >= 0) {
          const e = parse(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (e) out.push(e);
          continue;
        }
        const { value, done } = await chunks.next();
        if (done) throw new Error(`the stream ended after ${out.length} of ${n} events`);
        buffer += (value as Buffer).toString();
      }
      return out;
    },
    close: () => res.destroy(),
  };
}

/** `Console: http://127.0.0.1:PORT/?token=TOKEN` — 32 random bytes are 43 base64url characters. */
export const PRINTED = /Console: (http:\/\/127\.0\.0\.1:(\d+))\/\?token=([A-Za-z0-9_-]{43})\s/;
export const PRINTED_VIEWER = /Viewer \(read-only\): http:\/\/127\.0\.0\.1:\d+\/\?token=([A-Za-z0-9_-]{43})\n/;

export interface RunningConsole {
  cli: CliChild;
  port: number;
  origin: string;
  ownerToken: string;
  viewerToken?: string;
  stop(): Promise<void>;
}

export interface World {
  nats: TestNats;
  state: string;
  wallet: Wallet;
  destination: string;
  env(extra?: Record<string, string>): NodeJS.ProcessEnv;
  /** Starts `vibewriter web` with these extra arguments and environment. */
  startConsole(args?: string[], env?: Record<string, string>): Promise<RunningConsole>;
  /** Proposes `amount` XLM for THREAD (above 20 waits for the owner). */
  propose(id: string, amount: string): Promise<void>;
  publish(e: NewEvent, thread?: string): Promise<number>;
  close(): Promise<void>;
}

let n = 0;

export async function makeWorld(): Promise<World> {
  const nats = await startTestNats();
  const state = await mkdtemp(join(tmpdir(), "vw-console-"));
  const destination = Keypair.random().publicKey();
  const policyPath = join(state, "policy.json");
  await writeFile(
    policyPath,
    JSON.stringify({
      version: 1,
      delegation: { expiresAt: "2099-01-01T00:00:00Z" },
      destinations: [destination],
      assets: { XLM: { perTransaction: "50", rollingWindow: { amount: "1000", hours: 24 }, approvalAbove: "20" } },
    }),
  );
  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    NATS_URL: nats.server.url,
    USER: "owner",
    VIBEWRITER_STATE_DIR: state,
    VIBEWRITER_POLICY: policyPath,
    ...extra,
  });
  const init = captureIo(env({ VIBEWRITER_OWNER_PASSPHRASE: PASSPHRASE }));
  if ((await main(["owner", "init"], init)) !== 0) throw new Error(`owner init failed: ${init.err()}`);
  // The runtime's wallet: it proposes; only the owner's key decides.
  const runtimeEnv = { VIBEWRITER_STATE_DIR: state };
  const trust = await loadTrust(runtimeEnv);
  const wallet = await Wallet.open({ nats: nats.backbone, policy: await loadPolicyFile(policyPath), ownerPublicKey: trust.ownerPublicKey, ledger: await runtimeLedger(runtimeEnv, trust) });

  const publish = async (e: NewEvent, thread = THREAD) => (await nats.backbone.events.publish(thread, { id: `web:${n++}`, ...e } as NewEvent)).seq;
  await buildThread(nats, publish);

  const consoles: RunningConsole[] = [];
  return {
    nats,
    state,
    wallet,
    destination,
    env,
    publish,
    async propose(id, amount) {
      await wallet.propose({ id, destination, asset: "XLM", amount, reason: "dataset licence", requestedBy: THREAD });
    },
    async startConsole(args = [], extra = {}) {
      const cli = spawnCli(["web", "--port", "0", ...args], env(extra));
      await cli.waitForOutput(/Payments: .*\n/);
      const m = PRINTED.exec(cli.stdout());
      if (!m) throw new Error(`vibewriter web printed no login URL:\n${cli.stdout()}\n${cli.stderr()}`);
      const viewer = PRINTED_VIEWER.exec(cli.stdout());
      const running: RunningConsole = {
        cli,
        origin: m[1]!,
        port: Number(m[2]),
        ownerToken: m[3]!,
        ...(viewer ? { viewerToken: viewer[1]! } : {}),
        async stop() {
          if (cli.child.exitCode !== null) return;
          cli.child.kill("SIGINT");
          const { code } = await cli.exited;
          if (code !== 0) throw new Error(`vibewriter web exited with ${code}: ${cli.stderr()}`);
        },
      };
      consoles.push(running);
      return running;
    },
    async close() {
      for (const c of consoles) if (c.cli.child.exitCode === null) c.cli.child.kill("SIGKILL");
      await nats.close();
      await rm(state, { recursive: true, force: true });
    },
  };
}

/**
 * THREAD as a run leaves it: started, a plan, a tool call of main, a researcher subagent with a
 * tool call of its own, model calls, a source, files in /workspace, a published report citing the
 * source; and a file of another thread beside it.
 */
async function buildThread(nats: TestNats, publish: (e: NewEvent, thread?: string) => Promise<number>): Promise<void> {
  const artifacts = nats.backbone.blobs;
  const source = await sourceFromBytes("northwind.txt", new TextEncoder().encode(SOURCE_TEXT));
  await storeSources(artifacts, THREAD, [source]);
  const report = `# Northwind\n\nNorthwind grew [[src:${source.id}|"${QUOTE}"]].\n`;
  await nats.backbone.artifacts.put(REPORT_ARTIFACT(THREAD), new TextEncoder().encode(report));
  await nats.backbone.artifacts.put(`threads/${THREAD}/workspace/notes.md`, "# Notes\n<script>alert(1)</script>\n");
  await nats.backbone.artifacts.put(`threads/${THREAD}/workspace/chart.png`, new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 0xff]));
  await nats.backbone.artifacts.put(`threads/${OTHER_THREAD}/workspace/secret.txt`, OTHER_SECRET);

  const e = (type: string, data: Record<string, unknown>, agent = "main") => publish({ type, agent, data } as NewEvent);
  await e(EventType.RunStarted, { task: "Assess Northwind" });
  await e(EventType.SourceStored, { id: source.id, origin: "northwind.txt", kind: "text", chars: SOURCE_TEXT.length });
  await e(EventType.ModelCall, { model: "scripted", latencyMs: 5, inputTokens: 100, outputTokens: 20, toolCalls: 1 });
  await e(EventType.ToolStarted, { tool: "write_todos", callId: "c1", args: { todos: [{ content: "Research", status: "in_progress" }] } });
  await e(EventType.TodosUpdated, { todos: [{ content: "Research", status: "in_progress" }] });
  await e(EventType.ToolFinished, { tool: "write_todos", callId: "c1", status: "ok", output: "Updated todo list" });
  await e(EventType.ToolStarted, { tool: "task", callId: "c2", args: { subagent_type: "researcher", description: "find revenue" } });
  await e(EventType.SubagentStarted, { subagent: "researcher", description: "find revenue", callId: "c2" });
  await e(EventType.ModelCall, { model: "scripted", latencyMs: 5, inputTokens: 50, outputTokens: 10, toolCalls: 1 }, "researcher");
  await e(EventType.ToolStarted, { tool: "read_file", callId: "r1", args: { file_path: "/workspace/sources/x.txt" } }, "researcher");
  await e(EventType.ToolFinished, { tool: "read_file", callId: "r1", status: "error", output: "Error: no such file" }, "researcher");
  await e(EventType.ToolFinished, { tool: "task", callId: "c2", status: "ok", output: "revenue found" });
  await e(EventType.SubagentFinished, { subagent: "researcher", callId: "c2", status: "ok", result: "revenue found" });
  await e(EventType.FileWritten, { path: "/workspace/notes.md", tool: "write_file" });
  await e(EventType.ReportPublished, { artifact: REPORT_ARTIFACT(THREAD), sha256: "0".repeat(64), bytes: report.length, citations: 1, sources: [source.id] });
  await e(EventType.RunFinished, { status: "completed" });
}
