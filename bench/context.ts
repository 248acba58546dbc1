/**
 * What every model call carries: the scripted demo task (`vibewriter demo`) run for real — a real
 * nats-server, a real microVM, the real deep agent built by `createVibewriter` with the wallet the
 * CLI would give it (`openRunWallet` on a fresh state directory: no policy, no signer; before the
 * lean-context change that still gave a wallet, so `propose_payment` was bound, now it gives none)
 * — with every model call captured: its messages and the tools it was bound to.
 *
 * Per agent (main, researcher, verifier, publisher, general-purpose), per call:
 * - system: the system prompt, UTF-8 bytes;
 * - tools: the tool schemas as a provider receives them — JSON of {name, description, parameters}
 *   per tool (OpenAI function format; Anthropic's {name, description, input_schema} is the same size);
 * - fixed = system + tools: what a call costs before any content;
 * - messages: everything else (the task, AI turns with their tool-call arguments, tool results).
 * Tokens are ESTIMATED as bytes / 4 (no tokenizer is involved; real tokenizers land near it for
 * English prose and JSON).
 *
 * The demo never calls the general-purpose subagent: a second, one-step run on its own thread does,
 * and counts only in that agent's row.
 *
 * Prints a table, the "before" figures (measured on the code before the lean-context change) with
 * ratios, and one JSON line last.
 *
 *   npx tsx bench/context.ts [--dump DIR]   (--dump writes each agent's first system prompt and tools)
 */
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AIMessage, SystemMessage, type BaseMessage } from "@langchain/core/messages";
import { convertToOpenAITool } from "@langchain/core/utils/function_calling";
import { DEMO_TASK, scriptedDemoModel } from "../src/agent/demo-model.ts";
import { SAMPLES_DIR } from "../src/agent/samples.ts";
import { VmPool } from "../src/app/vm-pool.ts";
import { createScriptedModel, messageText, roleOf } from "../src/agent/scripted-model.ts";
import { createVibewriter } from "../src/agent/vibewriter.ts";
import { openRunWallet } from "../src/app/run-wallet.ts";
import { startTestNats } from "../test/support/nats.ts";

const AGENTS = ["main", "researcher", "verifier", "publisher", "general-purpose"] as const;

/**
 * Measured with this bench on the code before the lean-context change (commit f346abd: the CLI's
 * wallet always given, so `propose_payment` bound; deepagents' and LangChain's generic prompts and
 * tool descriptions): bytes per call, and the demo's totals.
 */
const BEFORE = {
  perCall: {
    main: { system: 9794, tools: 23768, toolCount: 12 },
    researcher: { system: 3209, tools: 7269, toolCount: 7 },
    verifier: { system: 312, tools: 4947, toolCount: 5 },
    publisher: { system: 381, tools: 6647, toolCount: 7 },
    "general-purpose": { system: 134, tools: 4416, toolCount: 4 },
  } as Record<string, { system: number; tools: number; toolCount: number }>,
  demo: { calls: 22, fixedBytes: 431899, messageBytes: 72519, totalBytes: 504418 },
};

interface Call {
  role: string;
  system: string;
  tools: Array<{ name: string; json: string }>;
  messageBytes: number;
  /** From the general-purpose probe run: counted per agent, not in the demo's totals. */
  probe?: boolean;
}

const bytes = (s: string) => Buffer.byteLength(s, "utf8");
const tokens = (b: number) => Math.round(b / 4);

function toolSchemas(tools: unknown[]): Array<{ name: string; json: string }> {
  return tools.map((t) => {
    const f = convertToOpenAITool(t as never).function;
    return { name: f.name, json: JSON.stringify({ name: f.name, description: f.description ?? "", parameters: f.parameters ?? {} }) };
  });
}

function messageBytes(messages: BaseMessage[]): number {
  let n = 0;
  for (const m of messages) {
    if (SystemMessage.isInstance(m)) continue;
    n += bytes(messageText(m));
    if (AIMessage.isInstance(m) && m.tool_calls?.length) n += bytes(JSON.stringify(m.tool_calls.map((c) => ({ name: c.name, args: c.args }))));
  }
  return n;
}

/** Records every call of every fake chat model in this process: messages and bound tools. */
function captureCalls(model: object): Call[] {
  const calls: Call[] = [];
  const proto = Object.getPrototypeOf(model) as { _generate: (...a: unknown[]) => Promise<unknown> };
  const generate = proto._generate;
  proto._generate = function (this: { _tools?: unknown[] }, ...args: unknown[]) {
    const messages = args[0] as BaseMessage[];
    const sys = messages.find((m) => SystemMessage.isInstance(m));
    calls.push({ role: roleOf(messages), system: sys ? messageText(sys) : "", tools: toolSchemas(this._tools ?? []), messageBytes: messageBytes(messages) });
    return generate.apply(this, args);
  };
  return calls;
}

const pad = (s: string | number, n: number) => String(s).padStart(n);
const ratio = (now: number, before: number) => (before > 0 ? `${(now / before).toFixed(2)}×` : "—");

async function main(): Promise<void> {
  const dumpAt = process.argv.indexOf("--dump");
  const dumpDir = dumpAt >= 0 ? process.argv[dumpAt + 1] : undefined;
  const state = await mkdtemp(join(tmpdir(), "vw-bench-context-"));
  const nats = await startTestNats();
  const vms = new VmPool();
  try {
    const model = scriptedDemoModel();
    const calls = captureCalls(model);
    // As `vibewriter demo` does it: the wallet from the owner's configuration (none here).
    const payments = await openRunWallet(nats.backbone, { VIBEWRITER_STATE_DIR: state });
    const vw = await createVibewriter({
      backbone: nats.backbone,
      sandboxes: vms.sandboxes(nats.backbone.blobs),
      threadId: `bench-context-${process.pid}`,
      model,
      sourcesDir: SAMPLES_DIR,
      ...(payments.wallet ? { wallet: payments.wallet } : {}),
    });
    const result = await vw.run(DEMO_TASK).finally(() => vw.close());
    if (!result.report) throw new Error(`the demo published no report: ${result.finalMessage}`);
    const demoCalls = calls.length;

    // The demo never asks the general-purpose subagent: one probe run on its own thread does.
    const probe = createScriptedModel({
      main: ({ turn }) => (turn === 0 ? [{ name: "task", args: { subagent_type: "general-purpose", description: "List /workspace/sources." } }] : turn === 1 ? { text: "done" } : undefined),
      "general-purpose": ({ turn }) => (turn === 0 ? { text: "done" } : undefined),
    });
    const pw = await createVibewriter({ backbone: nats.backbone, sandboxes: vms.sandboxes(nats.backbone.blobs), threadId: `bench-context-gp-${process.pid}`, model: probe, ...(payments.wallet ? { wallet: payments.wallet } : {}) });
    await pw.run("Ask the general-purpose helper to list the sources.").finally(() => pw.close());
    const gpCalls = calls.splice(demoCalls).filter((c) => c.role === "general-purpose");
    if (gpCalls.length === 0) throw new Error("the probe run never called the general-purpose subagent");
    calls.push(...gpCalls.map((c) => ({ ...c, probe: true })));

    const perAgent: Record<string, { calls: number; system: number; tools: number; toolCount: number; toolNames: string[]; messages: number }> = {};
    for (const role of AGENTS) {
      const mine = calls.filter((c) => c.role === role);
      // general-purpose: from the probe run (the demo never calls it).
      const first = mine[0];
      perAgent[role] = {
        calls: mine.length,
        system: first ? bytes(first.system) : 0,
        tools: first ? first.tools.reduce((n, t) => n + bytes(t.json), 0) : 0,
        toolCount: first?.tools.length ?? 0,
        toolNames: first?.tools.map((t) => t.name) ?? [],
        messages: mine.reduce((n, c) => n + c.messageBytes, 0),
      };
      if (dumpDir && first) {
        await mkdir(dumpDir, { recursive: true });
        await writeFile(join(dumpDir, `${role}.system.txt`), first.system);
        await writeFile(join(dumpDir, `${role}.tools.json`), `[\n${first.tools.map((t) => t.json).join(",\n")}\n]\n`);
      }
    }
    const demoOnly = calls.filter((c) => !c.probe);
    const fixedBytes = demoOnly.reduce((n, c) => n + bytes(c.system) + c.tools.reduce((m, t) => m + bytes(t.json), 0), 0);
    const msgBytes = demoOnly.reduce((n, c) => n + c.messageBytes, 0);
    const demo = { calls: demoOnly.length, fixedBytes, messageBytes: msgBytes, totalBytes: fixedBytes + msgBytes };

    console.log(`Context per model call, scripted demo task (${demo.calls} calls). Tokens estimated as bytes/4.\n`);
    console.log(`${"agent".padEnd(16)}${pad("calls", 6)}${pad("tools", 6)}${pad("system B", 10)}${pad("tools B", 9)}${pad("fixed B", 9)}${pad("fixed tok", 10)}${pad("before tok", 11)}${pad("ratio", 7)}${pad("msgs B", 9)}`);
    for (const role of AGENTS) {
      const a = perAgent[role]!;
      const b = BEFORE.perCall[role]!;
      const fixed = a.system + a.tools;
      console.log(
        `${role.padEnd(16)}${pad(a.calls, 6)}${pad(a.toolCount, 6)}${pad(a.system, 10)}${pad(a.tools, 9)}${pad(fixed, 9)}${pad(tokens(fixed), 10)}${pad(tokens(b.system + b.tools), 11)}${pad(ratio(fixed, b.system + b.tools), 7)}${pad(a.messages, 9)}`,
      );
    }
    console.log(
      `\ndemo total: ${demo.calls} calls, fixed ${demo.fixedBytes} B (~${tokens(demo.fixedBytes)} tok), messages ${demo.messageBytes} B (~${tokens(demo.messageBytes)} tok), ` +
        `all ${demo.totalBytes} B (~${tokens(demo.totalBytes)} tok); before ~${tokens(BEFORE.demo.totalBytes)} tok (${ratio(demo.totalBytes, BEFORE.demo.totalBytes)})`,
    );
    console.log(`main agent tools: ${perAgent.main!.toolNames.join(", ")}`);
    console.log(
      JSON.stringify({
        bench: "context",
        tokenEstimate: "bytes/4",
        perCall: Object.fromEntries(
          AGENTS.map((r) => {
            const a = perAgent[r]!;
            const b = BEFORE.perCall[r]!;
            return [r, { calls: a.calls, toolCount: a.toolCount, systemBytes: a.system, toolBytes: a.tools, fixedBytes: a.system + a.tools, fixedTokens: tokens(a.system + a.tools), messageBytes: a.messages, beforeFixedBytes: b.system + b.tools, ratio: b.system + b.tools > 0 ? +((a.system + a.tools) / (b.system + b.tools)).toFixed(3) : null }];
          }),
        ),
        demo: { ...demo, totalTokens: tokens(demo.totalBytes), before: BEFORE.demo, ratio: BEFORE.demo.totalBytes > 0 ? +(demo.totalBytes / BEFORE.demo.totalBytes).toFixed(3) : null },
      }),
    );
  } finally {
    await vms.close();
    await nats.close();
    await rm(state, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
