/**
 * The agent with real model clients: `ChatOpenAI` (OpenAI-compatible route) and `ChatAnthropic`,
 * configured from the environment as a user does, talking to a stand-in provider on loopback that
 * speaks their real wire formats. The stand-in serves the demo's due-diligence script; failures
 * are injected at chosen steps.
 */
import { DEMO_SCRIPTS, DEMO_TASK } from "../../src/agent/demo-model.ts";
import { EventType } from "../../src/nats/event-types.ts";
import { resolveModel } from "../../src/agent/model.ts";
import { SAMPLES_DIR } from "../../src/agent/samples.ts";
import { VmPool } from "../../src/app/vm-pool.ts";
import { REPORT_ARTIFACT } from "../../src/agent/tools/publish.ts";
import { createVibewriter } from "../../src/agent/vibewriter.ts";
import { byRole, startProviderStandIn, type ProviderStandIn, type Reply, type ReplyContext } from "../support/provider-standin.ts";
import { startAgentWorld, type AgentWorld } from "./support/harness.ts";

let world: AgentWorld;
const vms = new VmPool();
let provider: ProviderStandIn;
beforeAll(async () => {
  world = await startAgentWorld();
  provider = await startProviderStandIn();
});
afterAll(async () => {
  await provider?.close();
  await vms.close();
  await world?.close();
});

/** The demo script, as replies: tool calls stay tool calls, a text stays a text. */
function demo(over: (ctx: ReplyContext) => Reply | undefined = () => undefined) {
  const scripts = Object.fromEntries(
    Object.entries(DEMO_SCRIPTS).map(([role, script]) => [
      role,
      (ctx: ReplyContext): Reply | undefined => {
        const forced = over(ctx);
        if (forced) return forced;
        const step = script({ turn: ctx.turn, results: ctx.results, task: ctx.task, system: ctx.system });
        if (!step) return undefined;
        if (Array.isArray(step)) return step;
        if ("text" in step) return step.text;
        throw new Error("raw messages are not served by the stand-in");
      },
    ]),
  );
  return byRole(scripts);
}

const openaiEnv = () => ({ VIBEWRITER_MODEL: "openai-compatible:stand-in-model", VIBEWRITER_BASE_URL: provider.openaiBaseUrl, VIBEWRITER_MODEL_MAX_RETRIES: "1" });

async function report(threadId: string): Promise<string> {
  return new TextDecoder().decode((await world.backbone.blobs.get(REPORT_ARTIFACT(threadId)))!);
}

it("OpenAI-compatible: a complete run publishes the verified report", async () => {
  provider.script(demo());
  const vw = await createVibewriter({ backbone: world.nats.backbone, sandboxes: vms.sandboxes(world.nats.backbone.blobs), threadId: "prov-openai", model: resolveModel(openaiEnv()), sourcesDir: SAMPLES_DIR });
  const result = await vw.run(DEMO_TASK);
  await vw.close();
  expect(result.status).toBe("completed");
  expect(await report("prov-openai")).toMatch(/\[\[src:[0-9a-f]{12}\|"/);
}, 300_000);

it("repeated 500s stop the run; a resume against a healthy provider finishes the same report", async () => {
  let failing = true;
  provider.script(demo((ctx) => (failing && ctx.role === "main" && ctx.turn === 3 ? { error: 500, message: "upstream exploded" } : undefined)));
  const threadId = "prov-500";
  const vw = await createVibewriter({ backbone: world.nats.backbone, sandboxes: vms.sandboxes(world.nats.backbone.blobs), threadId, model: resolveModel(openaiEnv()), sourcesDir: SAMPLES_DIR });
  await expect(vw.run(DEMO_TASK)).rejects.toThrow(/vibewriter resume prov-500/);
  await vw.close();
  failing = false;
  const again = await createVibewriter({ backbone: world.nats.backbone, sandboxes: vms.sandboxes(world.nats.backbone.blobs), threadId, model: resolveModel(openaiEnv()) });
  const result = await again.resume();
  await again.close();
  expect(result.status).toBe("completed");
  expect(await report(threadId)).toBe(await report("prov-openai"));
}, 300_000);

it("repeated 500s inside a subagent stop the run; a resume finishes the same report", async () => {
  let failing = true;
  provider.script(demo((ctx) => (failing && ctx.role === "researcher" && ctx.turn === 0 ? { error: 500, message: "upstream exploded" } : undefined)));
  const threadId = "prov-500-sub";
  const vw = await createVibewriter({ backbone: world.nats.backbone, sandboxes: vms.sandboxes(world.nats.backbone.blobs), threadId, model: resolveModel(openaiEnv()), sourcesDir: SAMPLES_DIR });
  await expect(vw.run(DEMO_TASK)).rejects.toThrow(/vibewriter resume prov-500-sub/);
  await vw.close();
  failing = false;
  const before = provider.chatRequests().length;
  const again = await createVibewriter({ backbone: world.nats.backbone, sandboxes: vms.sandboxes(world.nats.backbone.blobs), threadId, model: resolveModel(openaiEnv()) });
  const result = await again.resume();
  await again.close();
  expect(provider.chatRequests().length - before).toBeGreaterThan(10); // the rest of the run, not one call
  expect(result.status).toBe("completed");
  expect(await report(threadId)).toBe(await report("prov-openai"));
}, 300_000);

const anthropicEnv = () => ({ ANTHROPIC_API_KEY: "sk-ant-stand-in", ANTHROPIC_BASE_URL: provider.anthropicBaseUrl, VIBEWRITER_MODEL_MAX_RETRIES: "1" });
const events = (threadId: string) => world.backbone.events.history(threadId);

it("Anthropic: a complete run publishes the same report; each model call is an event with the provider's token counts", async () => {
  provider.script(demo());
  const threadId = "prov-anthropic";
  const before = provider.chatRequests().length;
  const vw = await createVibewriter({ backbone: world.nats.backbone, sandboxes: vms.sandboxes(world.nats.backbone.blobs), threadId, model: resolveModel(anthropicEnv()), sourcesDir: SAMPLES_DIR });
  const result = await vw.run(DEMO_TASK);
  await vw.close();
  expect(result.status).toBe("completed");
  expect(await report(threadId)).toBe(await report("prov-openai"));
  const sent = provider.chatRequests().slice(before);
  expect(sent.every((r) => r.api === "anthropic" && r.chat?.model === "claude-sonnet-4-5")).toBe(true);
  const calls = (await events(threadId)).filter((e) => e.type === EventType.ModelCall);
  expect(calls).toHaveLength(sent.length);
  expect(new Set(calls.map((e) => e.agent))).toEqual(new Set(["main", "researcher", "verifier", "publisher"]));
  const tokens = calls.reduce((n, e) => n + ((e.data as { inputTokens?: number }).inputTokens ?? 0), 0);
  expect(tokens).toBeGreaterThan(0);
  expect(result.usage).toMatchObject({ calls: sent.length, inputTokens: tokens });
}, 300_000);

it("a 429 with retry-after is waited out and retried; the run goes on", async () => {
  let throttled = 0;
  provider.script(demo((ctx) => (ctx.role === "verifier" && ctx.turn === 0 && throttled++ === 0 ? { error: 429, retryAfter: 1 } : undefined)));
  const vw = await createVibewriter({ backbone: world.nats.backbone, sandboxes: vms.sandboxes(world.nats.backbone.blobs), threadId: "prov-429", model: resolveModel(openaiEnv()), sourcesDir: SAMPLES_DIR });
  const result = await vw.run(DEMO_TASK);
  await vw.close();
  expect(throttled).toBe(2); // refused once, then answered
  expect(result.status).toBe("completed");
}, 300_000);

it("malformed tool calls: the model is told in one short line and asked again, the user is warned, the run finishes", async () => {
  const seen: string[] = [];
  provider.script(
    demo((ctx) => {
      if (ctx.role === "main" && ctx.turn === 0) return { malformedToolCall: { name: "write_todos", arguments: '{"todos": [{"content": "Research the sour' } };
      if (ctx.role === "researcher" && ctx.turn === 0 && !seen.length) {
        seen.push("x");
        return { malformedToolCall: { name: "read_file", arguments: "{ not json" } };
      }
      return undefined;
    }),
  );
  const threadId = "prov-malformed";
  const base = provider.chatRequests().length;
  const vw = await createVibewriter({ backbone: world.nats.backbone, sandboxes: vms.sandboxes(world.nats.backbone.blobs), threadId, model: resolveModel(openaiEnv()), sourcesDir: SAMPLES_DIR });
  const result = await vw.run(DEMO_TASK);
  await vw.close();
  expect(result.status).toBe("completed");
  const all = await events(threadId);
  expect(all.filter((e) => e.type === EventType.Warning).map((e) => (e.data as { message: string }).message)).toEqual([
    expect.stringMatching(/^the model sent a malformed call to write_todos: its arguments are not valid JSON/),
    expect.stringMatching(/^the model sent a malformed call to read_file: its arguments are not valid JSON/),
  ]);
  // What the provider was sent back for the malformed call: short, actionable, nothing from the host.
  const answer = provider.chatRequests().slice(base).find((r) => r.chat!.role === "main" && r.chat!.turn === 1)!.chat!.results[0]!;
  expect(answer).toMatch(/^Error: your call to write_todos could not be read: its arguments are not valid JSON \(.+\)\. Send the call again/);
  expect(answer.length).toBeLessThan(300);
}, 300_000);

it("a tool input that is not an object (Anthropic) gets one short error line: no stack trace, no host path", async () => {
  provider.script(demo((ctx) => (ctx.role === "main" && ctx.turn === 0 ? { malformedToolCall: { name: "write_todos", input: "todos: all of them" } } : undefined)));
  const threadId = "prov-nonobject";
  const base = provider.chatRequests().length;
  const vw = await createVibewriter({ backbone: world.nats.backbone, sandboxes: vms.sandboxes(world.nats.backbone.blobs), threadId, model: resolveModel(anthropicEnv()), sourcesDir: SAMPLES_DIR });
  const result = await vw.run(DEMO_TASK);
  await vw.close();
  expect(result.status).toBe("completed");
  const sentBack = JSON.stringify(provider.chatRequests().slice(base).map((r) => r.body));
  expect(sentBack).toContain("could not be read: its arguments must be a JSON object, got a string");
  for (const leak of [process.cwd(), "node_modules", "    at "]) expect(sentBack).not.toContain(leak);
}, 300_000);

it("a provider that hangs is cut by the per-call timeout; the run stops resumable and the resume finishes", async () => {
  let hanging = true;
  provider.script(demo((ctx) => (hanging && ctx.role === "publisher" && ctx.turn === 1 ? { hang: true } : undefined)));
  const threadId = "prov-hang";
  const env = { ...openaiEnv(), VIBEWRITER_MODEL_TIMEOUT_SEC: "1", VIBEWRITER_MODEL_MAX_RETRIES: "0" };
  const vw = await createVibewriter({ backbone: world.nats.backbone, sandboxes: vms.sandboxes(world.nats.backbone.blobs), threadId, model: resolveModel(env), sourcesDir: SAMPLES_DIR });
  await expect(vw.run(DEMO_TASK)).rejects.toThrow(/timed out[\s\S]*vibewriter resume prov-hang/i);
  await vw.close();
  hanging = false;
  const again = await createVibewriter({ backbone: world.nats.backbone, sandboxes: vms.sandboxes(world.nats.backbone.blobs), threadId, model: resolveModel(env) });
  expect((await again.resume()).status).toBe("completed");
  await again.close();
  expect(await report(threadId)).toBe(await report("prov-openai"));
}, 300_000);

it("the budget: at the limit the run pauses for the owner; a resume with a higher budget finishes the same report", async () => {
  provider.script(demo());
  const threadId = "prov-budget";
  const vw = await createVibewriter({ backbone: world.nats.backbone, sandboxes: vms.sandboxes(world.nats.backbone.blobs), threadId, model: resolveModel(openaiEnv()), sourcesDir: SAMPLES_DIR, budget: { maxCalls: 6, maxTokens: 10_000_000 }, expectReport: true });
  const paused = await vw.run(DEMO_TASK);
  await vw.close();
  expect(paused.status).toBe("interrupted");
  expect(paused.usage.calls).toBe(6);
  expect(paused.interrupts[0]).toMatchObject({ value: { kind: "budget_exhausted", reason: "the run has made 6 model calls (limit 6)", maxCalls: 6 } });
  // Resumed within the same budget: still paused, no model call made.
  const calls = provider.chatRequests().length;
  const same = await createVibewriter({ backbone: world.nats.backbone, sandboxes: vms.sandboxes(world.nats.backbone.blobs), threadId, model: resolveModel(openaiEnv()), budget: { maxCalls: 6, maxTokens: 10_000_000 }, expectReport: true });
  expect((await same.resume({ continue: true })).status).toBe("interrupted");
  await same.close();
  expect(provider.chatRequests().length).toBe(calls);
  const raised = await createVibewriter({ backbone: world.nats.backbone, sandboxes: vms.sandboxes(world.nats.backbone.blobs), threadId, model: resolveModel(openaiEnv()), budget: { maxCalls: 100, maxTokens: 10_000_000 }, expectReport: true });
  const done = await raised.resume({ continue: true });
  await raised.close();
  expect(done.status).toBe("completed");
  expect(await report(threadId)).toBe(await report("prov-openai"));
}, 300_000);

it("a run that ends without its report ends failed, says why, and a resume asks the agent to carry on", async () => {
  let stopEarly = true;
  provider.script(demo((ctx) => (stopEarly && ctx.role === "main" && ctx.turn === 2 ? "I think that is enough." : undefined)));
  const threadId = "prov-incomplete";
  const vw = await createVibewriter({ backbone: world.nats.backbone, sandboxes: vms.sandboxes(world.nats.backbone.blobs), threadId, model: resolveModel(openaiEnv()), sourcesDir: SAMPLES_DIR, expectReport: true });
  const result = await vw.run(DEMO_TASK);
  await vw.close();
  expect(result.status).toBe("failed");
  expect(result.reason).toMatch(/^the agent stopped without publishing a report, with 4 of 4 planned steps not done/);
  const finished = (await events(threadId)).filter((e) => e.type === EventType.RunFinished).at(-1)!;
  expect(finished.data).toMatchObject({ status: "failed", reason: result.reason });
  stopEarly = false;
  const again = await createVibewriter({ backbone: world.nats.backbone, sandboxes: vms.sandboxes(world.nats.backbone.blobs), threadId, model: resolveModel(openaiEnv()), expectReport: true });
  const resumed = await again.resume();
  await again.close();
  expect(resumed.status).toBe("completed");
  expect(resumed.report).toBeTruthy();
}, 300_000);

it("a provider that reuses tool-call ids (call_0 in every answer) still runs every call", async () => {
  provider.script(
    byRole(
      Object.fromEntries(
        Object.entries(DEMO_SCRIPTS).map(([role, script]) => [
          role,
          (ctx: ReplyContext): Reply | undefined => {
            const step = script({ turn: ctx.turn, results: ctx.results, task: ctx.task, system: ctx.system });
            if (!step) return undefined;
            if (Array.isArray(step)) return step.map((c, i) => ({ ...c, id: `call_${i}` }));
            return "text" in step ? step.text : undefined;
          },
        ]),
      ),
    ),
  );
  const vw = await createVibewriter({ backbone: world.nats.backbone, sandboxes: vms.sandboxes(world.nats.backbone.blobs), threadId: "prov-ids", model: resolveModel(openaiEnv()), sourcesDir: SAMPLES_DIR, expectReport: true });
  const result = await vw.run(DEMO_TASK);
  await vw.close();
  expect(result.status).toBe("completed");
  expect(await report("prov-ids")).toBe(await report("prov-openai"));
}, 300_000);
