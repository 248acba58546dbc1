import { createHash } from "node:crypto";
import { ChatAnthropic } from "@langchain/anthropic";
import type { AIMessageChunk, BaseMessage } from "@langchain/core/messages";
import { AIMessage, HumanMessage, SystemMessage, ToolMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { ChatOpenAI } from "@langchain/openai";
import { z } from "zod";
import { byRole, byTurn, startProviderStandIn, type ProviderStandIn } from "../support/provider-standin.ts";

/**
 * The provider stand-in, proven against the real LangChain clients: `ChatOpenAI` (Chat
 * Completions, plain and SSE) and `ChatAnthropic` (Messages, plain and SSE) talk to it over
 * loopback HTTP with their own request building, SSE parsing, retries and timeouts.
 */

const OPENAI_KEY = "sk-standin-openai-key";
const ANTHROPIC_KEY = "sk-ant-standin-anthropic-key";

const readFile = tool(async ({ path }) => `contents of ${path}`, {
  name: "read_file",
  description: "Read a file",
  schema: z.object({ path: z.string(), limit: z.number().optional() }),
});
const writeFile = tool(async () => "ok", {
  name: "write_file",
  description: "Write a file",
  schema: z.object({ path: z.string(), content: z.string() }),
});

type Api = "openai" | "anthropic";
const APIS: Api[] = ["openai", "anthropic"];

interface ClientOptions {
  maxRetries?: number;
  /** The client's own per-request timeout (ms). */
  timeout?: number;
}

function client(provider: ProviderStandIn, api: Api, o: ClientOptions = {}) {
  const maxRetries = o.maxRetries ?? 0;
  if (api === "openai") {
    return new ChatOpenAI({
      model: "stand-in-model",
      apiKey: OPENAI_KEY,
      maxRetries,
      ...(o.timeout !== undefined ? { timeout: o.timeout } : {}),
      configuration: { baseURL: provider.openaiBaseUrl },
    });
  }
  // ChatAnthropic has no `timeout` field: the SDK's own timeout goes through clientOptions.
  return new ChatAnthropic({
    model: "claude-sonnet-4-5",
    apiKey: ANTHROPIC_KEY,
    maxRetries,
    anthropicApiUrl: provider.anthropicBaseUrl,
    ...(o.timeout !== undefined ? { clientOptions: { timeout: o.timeout } } : {}),
  });
}

function withTools(provider: ProviderStandIn, api: Api, o: ClientOptions = {}) {
  return client(provider, api, o).bindTools([readFile, writeFile]);
}

async function streamed(model: { stream(input: string | BaseMessage[], options?: object): Promise<AsyncIterable<AIMessageChunk>> }, input: string | BaseMessage[], options?: object) {
  const chunks: AIMessageChunk[] = [];
  let acc: AIMessageChunk | undefined;
  for await (const c of await model.stream(input, options)) {
    chunks.push(c);
    acc = acc ? acc.concat(c) : c;
  }
  if (!acc) throw new Error("the stream was empty");
  return { message: acc, chunks };
}

async function rejection(p: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await p;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error("expected a rejection");
}

/** Reads an SSE body into its events. */
async function sse(res: Response): Promise<Array<{ event?: string; data: string }>> {
  const text = await res.text();
  return text
    .split("\n\n")
    .filter((block) => block.trim())
    .map((block) => {
      const lines = block.split("\n");
      return {
        event: lines.find((l) => l.startsWith("event: "))?.slice(7),
        data: lines.filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n"),
      };
    });
}

let provider: ProviderStandIn;
let warn: ReturnType<typeof vi.spyOn>;

beforeEach(async () => {
  provider = await startProviderStandIn();
  // LangChain prints a misleading "New LangChain packages are available … pnpm install" notice on
  // malformed OpenAI tool calls; keep it off the test output and let tests assert it.
  warn = vi.spyOn(console, "warn").mockImplementation(() => {});
});

afterEach(async () => {
  warn.mockRestore();
  await provider.close();
});

describe("provider stand-in: replies through the real clients", () => {
  for (const api of APIS) {
    it(`${api}: a text reply, plain and streamed, with unique provider-shaped ids`, async () => {
      provider.enqueue("Hello from the stand-in, plainly.", { text: "Hello from the stand-in, streamed in pieces." });
      const plain = await client(provider, api).invoke("hi");
      expect(plain.content).toBe("Hello from the stand-in, plainly.");
      const { message, chunks } = await streamed(client(provider, api), "hi");
      expect(message.content).toBe("Hello from the stand-in, streamed in pieces.");
      expect(chunks.filter((c) => typeof c.content === "string" && c.content.length > 0).length).toBeGreaterThan(1);
      const idPattern = api === "openai" ? /^chatcmpl-[A-Za-z0-9]{29}$/ : /^msg_01[A-Za-z0-9]{22}$/;
      expect(plain.id).toMatch(idPattern);
      expect(message.id).toMatch(idPattern);
      expect(message.id).not.toBe(plain.id);

      const [first, second] = provider.chatRequests();
      expect(first.api).toBe(api);
      expect(first.path).toBe(api === "openai" ? "/v1/chat/completions" : "/v1/messages");
      expect(first.chat).toMatchObject({ stream: false, turn: 0, task: "hi", messageCount: 1, role: "main" });
      expect(second.chat?.stream).toBe(true);
      expect(provider.pending).toBe(0);
    });

    it(`${api}: a tool call is parsed into tool_calls with its args, plain and streamed from split deltas`, async () => {
      const args = { path: "/notes/a long file name.md", limit: 30 };
      provider.enqueue([{ name: "read_file", args }], { toolCalls: [{ name: "read_file", args }] });
      const plain = await withTools(provider, api).invoke("read it");
      expect(plain.tool_calls).toEqual([expect.objectContaining({ name: "read_file", args, type: "tool_call" })]);
      expect(plain.invalid_tool_calls ?? []).toEqual([]);

      const { message, chunks } = await streamed(withTools(provider, api), "read it");
      expect(message.tool_calls).toEqual([expect.objectContaining({ name: "read_file", args })]);
      // The arguments arrived over several chunks: the first names the call, the rest carry fragments.
      const toolChunks = chunks.filter((c) => (c.tool_call_chunks ?? []).length > 0);
      expect(toolChunks.length).toBeGreaterThan(2);
      expect(toolChunks[0].tool_call_chunks?.[0]).toMatchObject({ name: "read_file" });
      expect(toolChunks[1].tool_call_chunks?.[0].name).toBeUndefined();

      const idPattern = api === "openai" ? /^call_[A-Za-z0-9]{24}$/ : /^toolu_01[A-Za-z0-9]{22}$/;
      expect(plain.tool_calls?.[0].id).toMatch(idPattern);
      expect(message.tool_calls?.[0].id).toMatch(idPattern);
      expect(message.tool_calls?.[0].id).not.toBe(plain.tool_calls?.[0].id);
      // What reached the provider: both tools, in the provider's own tool format.
      for (const r of provider.chatRequests()) expect(r.chat?.tools).toEqual(["read_file", "write_file"]);
    });

    it(`${api}: usage numbers reach usage_metadata, plain and streamed`, async () => {
      provider.enqueue({ text: "counted", usage: { input: 1234, output: 56 } }, { text: "counted", usage: { input: 1234, output: 56 } });
      const plain = await client(provider, api).invoke("count");
      expect(plain.usage_metadata).toMatchObject({ input_tokens: 1234, output_tokens: 56, total_tokens: 1290 });
      const { message } = await streamed(client(provider, api), "count");
      // Anthropic's stream reports output_tokens: 1 in message_start and the final count in
      // message_delta (as the real API does); ChatAnthropic sums the two, so it reports one more.
      const output = api === "openai" ? 56 : 57;
      expect(message.usage_metadata).toMatchObject({ input_tokens: 1234, output_tokens: output, total_tokens: 1234 + output });
      if (api === "openai") {
        // ChatOpenAI asks for the final usage chunk when it streams.
        expect(provider.chatRequests()[1].body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
      }
    });

    it(`${api}: usage defaults to an estimate of the bytes exchanged`, async () => {
      provider.enqueue("x".repeat(400));
      const m = await client(provider, api).invoke("y".repeat(4000));
      expect(m.usage_metadata?.input_tokens).toBeGreaterThan(1000);
      expect(m.usage_metadata?.output_tokens).toBe(100);
    });
  }
});

describe("provider stand-in: malformed tool calls", () => {
  it("openai: truncated arguments JSON surfaces as invalid_tool_calls (and LangChain's stray install notice)", async () => {
    provider.enqueue({ malformedToolCall: { name: "write_file", arguments: '{"path": "/report.md", "content": "Half a sen' } });
    const m = await withTools(provider, "openai").invoke("write it");
    expect(m.tool_calls).toEqual([]);
    expect(m.invalid_tool_calls).toEqual([
      expect.objectContaining({ name: "write_file", args: '{"path": "/report.md", "content": "Half a sen', error: expect.stringContaining("are not valid JSON") }),
    ]);
    expect(m.invalid_tool_calls?.[0].id).toMatch(/^call_/);
    const notices = warn.mock.calls.map((c) => String(c[0])).filter((s) => s.includes("New LangChain packages are available"));
    expect(notices.length).toBeGreaterThan(0);
    expect(notices[0]).toContain("pnpm install");
  });

  it("openai: streamed, the same truncated JSON is silently completed into a valid-looking call", async () => {
    provider.enqueue({ malformedToolCall: { name: "write_file", arguments: '{"path": "/report.md", "content": "Half a sen' } });
    const { message } = await streamed(withTools(provider, "openai"), "write it");
    // LangChain's partial-JSON parser closes the string and the object: the cut-off content looks whole.
    expect(message.invalid_tool_calls ?? []).toEqual([]);
    expect(message.tool_calls).toEqual([expect.objectContaining({ name: "write_file", args: { path: "/report.md", content: "Half a sen" } })]);
  });

  it("anthropic: a tool_use.input that is not an object passes through as a tool call with string args (plain)", async () => {
    provider.enqueue({ malformedToolCall: { name: "read_file", input: "not an object" } });
    const m = await withTools(provider, "anthropic").invoke("read it");
    expect(m.invalid_tool_calls ?? []).toEqual([]);
    expect(m.tool_calls).toEqual([expect.objectContaining({ name: "read_file", args: "not an object" })]);
    expect(m.tool_calls?.[0].id).toMatch(/^toolu_01/);
  });

  it("anthropic: streamed, the same input becomes an invalid_tool_call", async () => {
    provider.enqueue({ malformedToolCall: { name: "read_file", input: "not an object" } });
    const { message } = await streamed(withTools(provider, "anthropic"), "read it");
    expect(message.tool_calls ?? []).toEqual([]);
    expect(message.invalid_tool_calls).toEqual([expect.objectContaining({ name: "read_file", args: '"not an object"', error: "Malformed args." })]);
  });
});

describe("provider stand-in: errors, retries and hangs", () => {
  it("openai: a 429 with retry-after: 1 is retried by the client after the wait, then succeeds", async () => {
    provider.enqueue({ error: 429, retryAfter: 1 }, "after the rate limit");
    const started = Date.now();
    const m = await client(provider, "openai", { maxRetries: 2 }).invoke("hi");
    expect(m.content).toBe("after the rate limit");
    expect(Date.now() - started).toBeGreaterThanOrEqual(950); // the retry waited for retry-after
    expect(provider.chatRequests().map((r) => r.outcome)).toEqual(["error:429", "text"]);
  });

  it("anthropic: a 429 with retry-after: 1 is retried on a stream too", async () => {
    provider.enqueue({ error: 429, retryAfter: 1 }, "after the rate limit");
    const { message } = await streamed(client(provider, "anthropic", { maxRetries: 2 }), "hi");
    expect(message.content).toBe("after the rate limit");
    expect(provider.chatRequests().map((r) => r.outcome)).toEqual(["error:429", "text"]);
  });

  it("errors arrive in each provider's own format, with the retry-after header", async () => {
    provider.enqueue({ error: 429, retryAfter: 7 }, { error: 529 });
    const post = (path: string, body: object, headers: Record<string, string>) =>
      fetch(provider.url + path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
    const o = await post("/v1/chat/completions", { model: "gpt-4.1", messages: [{ role: "user", content: "hi" }] }, { authorization: `Bearer ${OPENAI_KEY}` });
    expect(o.status).toBe(429);
    expect(o.headers.get("retry-after")).toBe("7");
    expect(o.headers.get("x-request-id")).toMatch(/^req_/);
    expect(await o.json()).toEqual({ error: { message: expect.stringContaining("Rate limit"), type: "requests", param: null, code: "rate_limit_exceeded" } });
    const a = await post("/v1/messages", { model: "claude-sonnet-4-5", max_tokens: 10, messages: [{ role: "user", content: "hi" }] }, { "x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01" });
    expect(a.status).toBe(529);
    expect(a.headers.get("request-id")).toMatch(/^req_/);
    expect(await a.json()).toEqual({ type: "error", error: { type: "overloaded_error", message: "Overloaded" }, request_id: expect.stringMatching(/^req_/) });
  });

  for (const api of APIS) {
    it(`${api}: a 500 with maxRetries: 0 fails after one request, in the provider's words`, async () => {
      provider.enqueue({ error: 500 });
      const err = await rejection(client(provider, api, { maxRetries: 0 }).invoke("hi"));
      expect(err.status).toBe(500);
      expect(err.message).toContain(api === "openai" ? "The server had an error" : "api_error");
      expect(provider.chatRequests()).toHaveLength(1);
    });

    it(`${api}: a hang is cut by the client's timeout option`, async () => {
      provider.enqueue({ hang: true });
      const err = await rejection(client(provider, api, { maxRetries: 0, timeout: 250 }).invoke("hi"));
      expect(err.message).toContain("timed out");
      expect(provider.chatRequests().map((r) => r.outcome)).toEqual(["hang"]);
    });

    it(`${api}: a stream that stalls after its first event outlives the client's timeout; a call timeout cuts it`, async () => {
      provider.enqueue({ hang: "mid-stream" });
      // The SDKs' timeout covers only the wait for the response headers: the error that ends this
      // call is the call option's abort (600 ms), not the client's "Request timed out." (100 ms).
      const err = await rejection(streamed(client(provider, api, { maxRetries: 0, timeout: 100 }), "hi", { timeout: 600 }));
      expect(err.name).toBe("TimeoutError");
      expect(err.message).not.toContain("Request timed out");
      expect(provider.chatRequests().map((r) => r.outcome)).toEqual(["hang:mid-stream"]);
    });
  }

  it("anthropic: 529 overloaded is retried like a 5xx", async () => {
    provider.enqueue({ error: 529 }, "no longer overloaded");
    const m = await client(provider, "anthropic", { maxRetries: 1 }).invoke("hi");
    expect(m.content).toBe("no longer overloaded");
    expect(provider.chatRequests().map((r) => r.outcome)).toEqual(["error:529", "text"]);
  });

  it("a 429 without retry-after is not retried by LangChain (RateLimitCapacityError)", async () => {
    provider.enqueue({ error: 429 }, "never reached");
    const err = await rejection(client(provider, "openai", { maxRetries: 3 }).invoke("hi"));
    expect(err.name).toBe("RateLimitCapacityError");
    expect(provider.chatRequests()).toHaveLength(1);
    expect(provider.pending).toBe(1);
  });

  it("a delayed reply arrives after its delay", async () => {
    provider.enqueue({ delayMs: 150, then: "late but whole" });
    const started = Date.now();
    const m = await client(provider, "anthropic").invoke("hi");
    expect(m.content).toBe("late but whole");
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("close() ends hung and delayed requests at once", async () => {
    provider.enqueue({ hang: true }, { delayMs: 60_000, then: "never" });
    const body = JSON.stringify({ model: "gpt-4.1", messages: [{ role: "user", content: "hi" }] });
    const calls = Promise.allSettled([0, 1].map(() => fetch(provider.openaiBaseUrl + "/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body })));
    await vi.waitFor(() => expect(provider.chatRequests()).toHaveLength(2));
    const started = Date.now();
    await provider.close();
    expect(Date.now() - started).toBeLessThan(1000);
    const settled = await calls;
    expect(settled.map((r) => r.status)).toEqual(["rejected", "rejected"]);
  });

  it("a request nobody scripted gets a 400 that names it, not retried", async () => {
    const err = await rejection(client(provider, "openai", { maxRetries: 3 }).invoke("hi"));
    expect(err.status).toBe(400);
    expect(err.message).toContain("no reply scripted for request #1 (main agent, turn 0)");
    expect(provider.chatRequests()).toHaveLength(1);
  });

  it("a model the stand-in does not know gets the provider's 404", async () => {
    const m = new ChatOpenAI({ model: "no-such-model", apiKey: OPENAI_KEY, maxRetries: 0, configuration: { baseURL: provider.openaiBaseUrl } });
    const err = await rejection(m.invoke("hi"));
    expect(err.status).toBe(404);
    expect(err.message).toContain("no-such-model");
  });
});

describe("provider stand-in: scripts and records", () => {
  const history = (role: string, task: string): BaseMessage[] => [
    new SystemMessage(`ROLE:${role}\nYou are the ${role}.`),
    new HumanMessage(task),
    new AIMessage({ content: "", tool_calls: [{ id: "call_prev1", name: "read_file", args: { path: "/a.md" }, type: "tool_call" }] }),
    new ToolMessage({ content: "A says hello", tool_call_id: "call_prev1" }),
  ];

  for (const api of APIS) {
    it(`${api}: byRole routes by the ROLE marker of the system prompt and byTurn by the turn`, async () => {
      const seen: string[] = [];
      provider.script(
        byRole({
          main: byTurn([[{ name: "read_file", args: { path: "/a.md" } }], "main is done"]),
          researcher: (ctx) => {
            seen.push(`researcher turn ${ctx.turn} task "${ctx.task}" results ${JSON.stringify(ctx.results)}`);
            return ctx.turn === 0 ? [{ name: "read_file", args: { path: "/src.md" } }] : `researched: ${ctx.results.join("|")}`;
          },
        }),
      );
      const model = withTools(provider, api);
      const main0 = await model.invoke([new SystemMessage("ROLE:main\nYou lead."), new HumanMessage("write a report")]);
      expect(main0.tool_calls?.[0]).toMatchObject({ name: "read_file", args: { path: "/a.md" } });
      const main1 = await model.invoke(history("main", "write a report"));
      expect(main1.content).toBe("main is done");
      const res1 = await model.invoke(history("researcher", "find sources"));
      expect(res1.content).toBe("researched: A says hello");
      const unknown = await rejection(client(provider, api).invoke([new SystemMessage("ROLE:publisher\nPublish."), new HumanMessage("go")]));
      expect(unknown.message).toContain("no script for the publisher agent");
      expect(seen).toEqual([`researcher turn 1 task "find sources" results ["A says hello"]`]);

      // The records say what reached the provider.
      const [first, second, third] = provider.chatRequests();
      expect(first.chat).toMatchObject({ role: "main", turn: 0, messageCount: 1, system: "ROLE:main\nYou lead.", tools: ["read_file", "write_file"] });
      expect(second.chat).toMatchObject({ role: "main", turn: 1, messageCount: 3, results: ["A says hello"] });
      expect(third.chat).toMatchObject({ role: "researcher", turn: 1, task: "find sources" });
      expect(third.chat?.system.length).toBe("ROLE:researcher\nYou are the researcher.".length);
    });
  }

  it("a script's reply may be async, and the queue is served before the script", async () => {
    provider.script(async (ctx) => `scripted for ${ctx.api}`);
    provider.enqueue("queued");
    expect((await client(provider, "openai").invoke("a")).content).toBe("queued");
    expect((await client(provider, "openai").invoke("b")).content).toBe("scripted for openai");
    expect((await client(provider, "anthropic").invoke("c")).content).toBe("scripted for anthropic");
  });

  it("records every request without the credential", async () => {
    provider.enqueue("one", "two");
    await client(provider, "openai").invoke("hi");
    await client(provider, "anthropic").invoke("hi");
    const [o, a] = provider.requests;
    expect(o.auth).toEqual({ header: "authorization", sha256: createHash("sha256").update(OPENAI_KEY).digest("hex").slice(0, 16) });
    expect(a.auth).toEqual({ header: "x-api-key", sha256: createHash("sha256").update(ANTHROPIC_KEY).digest("hex").slice(0, 16) });
    expect(o.headers.authorization).toBeUndefined();
    expect(a.headers["x-api-key"]).toBeUndefined();
    expect(a.headers["anthropic-version"]).toBeTruthy();
    const all = JSON.stringify(provider.requests);
    expect(all).not.toContain(OPENAI_KEY);
    expect(all).not.toContain(ANTHROPIC_KEY);
    expect(o.bytes).toBeGreaterThan(0);
    expect(o.body).toMatchObject({ model: "stand-in-model", messages: [{ role: "user", content: "hi" }] });
  });

  it("serves the model endpoints in each provider's format, and checks the key when told to", async () => {
    const keyed = await startProviderStandIn({ apiKey: OPENAI_KEY, models: ["local-llm"] });
    try {
      const get = (path: string, headers: Record<string, string>) => fetch(keyed.url + path, { headers });
      const bearer = { authorization: `Bearer ${OPENAI_KEY}` };
      const list = await get("/v1/models", bearer);
      expect(await list.json()).toEqual({ object: "list", data: [{ id: "local-llm", object: "model", created: expect.any(Number), owned_by: "stand-in" }] });
      expect(await (await get("/v1/models/local-llm", bearer)).json()).toMatchObject({ id: "local-llm", object: "model" });
      const missing = await get("/v1/models/gpt-9", bearer);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ error: { code: "model_not_found" } });
      const anthropicHeaders = { "x-api-key": OPENAI_KEY, "anthropic-version": "2023-06-01" };
      expect(await (await get("/v1/models/local-llm", anthropicHeaders)).json()).toMatchObject({ type: "model", id: "local-llm", display_name: "local-llm" });
      const anthropicMissing = await get("/v1/models/claude-nope", anthropicHeaders);
      expect(anthropicMissing.status).toBe(404);
      expect(await anthropicMissing.json()).toMatchObject({ type: "error", error: { type: "not_found_error" } });
      const wrong = await get("/v1/models", { authorization: "Bearer wrong" });
      expect(wrong.status).toBe(401);
      expect(await wrong.json()).toMatchObject({ error: { code: "invalid_api_key" } });
      const wrongAnthropic = await get("/v1/models/local-llm", { "x-api-key": "wrong", "anthropic-version": "2023-06-01" });
      expect(wrongAnthropic.status).toBe(401);
      expect(await wrongAnthropic.json()).toMatchObject({ type: "error", error: { type: "authentication_error" } });
      expect(keyed.requests.map((r) => `${r.api} ${r.outcome}`)).toEqual([
        "openai models",
        "openai model",
        "openai error:404",
        "anthropic model",
        "anthropic error:404",
        "openai error:401",
        "anthropic error:401",
      ]);
    } finally {
      await keyed.close();
    }
  });

  it("speaks the OpenAI SSE wire format: role chunk, id+name then argument fragments, finish, usage chunk, [DONE]", async () => {
    provider.enqueue({ toolCalls: [{ name: "read_file", args: { path: "/a/b/c.md" } }], usage: { input: 10, output: 3 } });
    const res = await fetch(provider.openaiBaseUrl + "/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4.1", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const events = await sse(res);
    expect(events.at(-1)?.data).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data));
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks[0].choices[0].delta.role).toBe("assistant");
    const toolDeltas = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
    expect(toolDeltas[0]).toMatchObject({ index: 0, id: expect.stringMatching(/^call_/), type: "function", function: { name: "read_file", arguments: "" } });
    expect(toolDeltas.length).toBeGreaterThan(2);
    expect(toolDeltas.slice(1).every((d) => d.id === undefined && d.function.name === undefined)).toBe(true);
    expect(toolDeltas.map((d) => d.function.arguments).join("")).toBe('{"path":"/a/b/c.md"}');
    expect(chunks.at(-2).choices[0].finish_reason).toBe("tool_calls");
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 } });
  });

  it("speaks the Anthropic SSE wire format: message_start, block start/delta/stop, message_delta with usage, message_stop", async () => {
    provider.enqueue({ text: "Reading it now.", toolCalls: [{ name: "read_file", args: { path: "/a/b/c.md" } }], usage: { input: 10, output: 3 } });
    const res = await fetch(provider.url + "/v1/messages", {
      method: "POST",
      headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
      body: JSON.stringify({ model: "claude-sonnet-4-5", max_tokens: 100, stream: true, messages: [{ role: "user", content: "hi" }] }),
    });
    const events = await sse(res);
    for (const e of events) expect(JSON.parse(e.data).type).toBe(e.event);
    const names = events.map((e) => e.event);
    expect(names[0]).toBe("message_start");
    expect(names.slice(-2)).toEqual(["message_delta", "message_stop"]);
    const data = events.map((e) => JSON.parse(e.data));
    expect(data[0].message).toMatchObject({ id: expect.stringMatching(/^msg_01/), role: "assistant", content: [], usage: { input_tokens: 10 } });
    const starts = data.filter((d) => d.type === "content_block_start");
    expect(starts.map((d) => d.content_block.type)).toEqual(["text", "tool_use"]);
    expect(starts[1].content_block).toMatchObject({ id: expect.stringMatching(/^toolu_01/), name: "read_file", input: {} });
    const deltas = data.filter((d) => d.type === "content_block_delta");
    expect(deltas.filter((d) => d.delta.type === "text_delta").map((d) => d.delta.text).join("")).toBe("Reading it now.");
    const json = deltas.filter((d) => d.delta.type === "input_json_delta");
    expect(json.length).toBeGreaterThan(1);
    expect(json.every((d) => d.index === 1)).toBe(true);
    expect(json.map((d) => d.delta.partial_json).join("")).toBe('{"path":"/a/b/c.md"}');
    expect(data.filter((d) => d.type === "content_block_stop").map((d) => d.index)).toEqual([0, 1]);
    expect(data.at(-2)).toMatchObject({ delta: { stop_reason: "tool_use" }, usage: { output_tokens: 3 } });
  });
});
