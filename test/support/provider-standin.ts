import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * A stand-in LLM provider on loopback: an HTTP server that speaks the real wire formats of
 * OpenAI-compatible servers (Chat Completions, plain JSON and SSE) and Anthropic (Messages, plain
 * JSON and SSE), so tests drive the real LangChain clients (`ChatOpenAI` with
 * `configuration.baseURL = openaiBaseUrl`, `ChatAnthropic` with `anthropicApiUrl = anthropicBaseUrl`)
 * through their real HTTP, SSE parsing, retries and timeouts. There is no model: every answer is
 * scripted by the test (`enqueue`, `script`, `byRole`). Every request is recorded, with the
 * credential header removed.
 *
 *   const provider = await startProviderStandIn();
 *   provider.enqueue({ toolCalls: [{ name: "read_file", args: { path: "/a.md" } }] }, "Done.");
 *   const model = new ChatOpenAI({ model: "stand-in-model", apiKey: "k", configuration: { baseURL: provider.openaiBaseUrl } });
 *   …
 *   await provider.close();
 */

export const ProviderApi = { OpenAI: "openai", Anthropic: "anthropic" } as const;
export type ProviderApi = (typeof ProviderApi)[keyof typeof ProviderApi];

/** Token counts a reply reports. Missing numbers are estimated (≈ 4 bytes a token). */
export interface UsageSpec {
  input?: number;
  output?: number;
}

export interface ToolCallSpec {
  name: string;
  args: Record<string, unknown>;
  /** Provider-side id; a fresh `call_…` / `toolu_…` when absent (as real providers do). */
  id?: string;
}

/**
 * What the stand-in answers to one chat request.
 * - a string, or `{ text }`: an assistant text;
 * - an array of tool calls, or `{ toolCalls, text? }`: tool calls (streamed as deltas: id and name
 *   first, then the argument JSON in fragments);
 * - `{ malformedToolCall }`: a tool call as a broken provider sends it — OpenAI: `arguments` is the
 *   raw string given (e.g. truncated JSON); Anthropic: `tool_use.input` is the value given (e.g. a
 *   string, not an object);
 * - `{ error: status }`: an HTTP error in the provider's own error format (`retryAfter` seconds sets
 *   the `retry-after` header; 429 rate limit, 500 server error, 529 overloaded for Anthropic…);
 * - `{ hang: true }`: never answers (until the client gives up or the stand-in closes);
 *   `{ hang: "mid-stream" }` on a streaming request sends the headers and the first event, then stalls;
 * - `{ delayMs, then }`: answers `then` after `delayMs`.
 */
export type Reply =
  | string
  | { text: string; usage?: UsageSpec }
  | ToolCallSpec[]
  | { toolCalls: ToolCallSpec[]; text?: string; usage?: UsageSpec }
  | { malformedToolCall: { name: string; arguments?: string; input?: unknown; id?: string }; usage?: UsageSpec }
  | ErrorReply
  | { hang: true | "mid-stream" }
  | { delayMs: number; then: Reply };

export interface ErrorReply {
  error: number;
  /** Seconds, sent as `retry-after`. */
  retryAfter?: number;
  headers?: Record<string, string>;
  /** The error message; a provider-like default per status. */
  message?: string;
  /** The error `type` (Anthropic `error.type`, OpenAI `error.type`); a provider-like default per status. */
  type?: string;
  /** OpenAI `error.code`. */
  code?: string | null;
  /** A raw body instead of the provider's error JSON. */
  body?: string;
}

/** What a chat request carries, read from the wire body of either API. */
export interface ChatView {
  model: string;
  stream: boolean;
  /** The system prompt text (OpenAI `system`/`developer` messages, Anthropic `system`). */
  system: string;
  /** The `ROLE:<name>` marker of the system prompt (`main` if none), as `roleOf` in src/agent/scripted-model.ts. */
  role: string;
  /** Assistant messages already in the conversation: 0 on the first call of a conversation. */
  turn: number;
  /** The text of the first user message (the task, or a subagent's instructions). */
  task: string;
  /** The text of every tool result in the conversation, in order. */
  results: string[];
  /** Names of the tools offered. */
  tools: string[];
  /** Number of messages (system prompt not counted). */
  messageCount: number;
}

export interface RecordedRequest {
  /** 1-based arrival order. */
  seq: number;
  api: ProviderApi;
  method: string;
  path: string;
  /** Lower-cased request headers without the credential (`authorization`, `x-api-key`, `api-key`, `cookie`…). */
  headers: Record<string, string>;
  /** Which header carried a credential and a short sha256 of its value (never the value). */
  auth?: { header: string; sha256: string };
  /** Parsed JSON body (undefined when none or not JSON). */
  body: unknown;
  /** Body size in bytes. */
  bytes: number;
  /** For chat requests: what they carry. */
  chat?: ChatView;
  /** What the stand-in did: `text`, `tool_calls`, `malformed_tool_call`, `error:<status>`, `hang`, `models`… */
  outcome?: string;
}

/** What a script sees for one chat request. */
export interface ReplyContext extends ChatView {
  api: ProviderApi;
  request: RecordedRequest;
}

export type ReplyScript = (ctx: ReplyContext) => Reply | undefined | Promise<Reply | undefined>;

export interface ProviderStandInOptions {
  /** Model ids the stand-in knows (chat with another model gets the provider's 404). `"any"` accepts all. */
  models?: string[] | "any";
  /** When set, requests without this key get the provider's 401. */
  apiKey?: string;
}

export interface ProviderStandIn {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `…/v1`, for `ChatOpenAI({ configuration: { baseURL } })` / `OPENAI_BASE_URL`. */
  openaiBaseUrl: string;
  /** The origin, for `ChatAnthropic({ anthropicApiUrl })` / `ANTHROPIC_BASE_URL` (the SDK appends `/v1/messages`). */
  anthropicBaseUrl: string;
  /** Every request, in arrival order. */
  requests: RecordedRequest[];
  /** Chat requests only (`POST /v1/chat/completions`, `POST /v1/messages`). */
  chatRequests(): RecordedRequest[];
  /** Replies served first, in order, one per chat request. */
  enqueue(...replies: Reply[]): void;
  /** The handler for chat requests once the queue is empty (replaces the previous one). */
  script(handler: ReplyScript): void;
  /** Replies left in the queue. */
  readonly pending: number;
  /** Stops answering; destroys open (hung) connections and pending timers. Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_MODELS = ["stand-in-model", "gpt-4.1", "claude-sonnet-4-5"];
const CREDENTIAL_HEADERS = ["authorization", "x-api-key", "api-key", "proxy-authorization", "cookie"];

// ---------------------------------------------------------------------------------------------
// Routing conveniences

/**
 * A script that routes by the calling agent (the `ROLE:<name>` marker of the system prompt, `main`
 * when none — the same convention as `createScriptedModel`) and lets each agent's script pick its
 * reply from the turn within its conversation. A script returning `undefined` ends its agent with a
 * text saying so; an agent without a script gets a 400 naming it.
 */
export function byRole(scripts: Record<string, (ctx: ReplyContext) => Reply | undefined>): ReplyScript {
  return (ctx) => {
    const script = scripts[ctx.role];
    if (!script) return { error: 400, message: `provider stand-in: no script for the ${ctx.role} agent` };
    return script(ctx) ?? `[provider stand-in] The script for the ${ctx.role} agent is finished.`;
  };
}

/** A script that answers by turn within the conversation: `turns[ctx.turn]`, then `after` (or a closing text). */
export function byTurn(turns: Reply[], after?: Reply): (ctx: ReplyContext) => Reply | undefined {
  return (ctx) => (ctx.turn < turns.length ? turns[ctx.turn] : after);
}

// ---------------------------------------------------------------------------------------------
// Reading requests

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((b) => {
        if (typeof b === "string") return b;
        const block = b as { type?: string; text?: string; content?: unknown };
        if (typeof block.text === "string") return block.text;
        if (block.type === "tool_result") return textOf(block.content);
        return "";
      })
      .join("");
  }
  return "";
}

type Json = Record<string, unknown>;

function chatView(api: ProviderApi, body: Json): ChatView {
  const messages = (Array.isArray(body.messages) ? body.messages : []) as Json[];
  const tools = (Array.isArray(body.tools) ? body.tools : []) as Json[];
  let system: string;
  let conversation: Json[];
  let results: string[];
  let toolNames: string[];
  if (api === ProviderApi.OpenAI) {
    const isSystem = (m: Json) => m.role === "system" || m.role === "developer";
    system = messages.filter(isSystem).map((m) => textOf(m.content)).join("\n");
    conversation = messages.filter((m) => !isSystem(m));
    results = conversation.filter((m) => m.role === "tool").map((m) => textOf(m.content));
    toolNames = tools.map((t) => String((t.function as Json | undefined)?.name ?? t.name ?? "?"));
  } else {
    system = textOf(body.system);
    conversation = messages;
    results = conversation.flatMap((m) =>
      Array.isArray(m.content) ? (m.content as Json[]).filter((b) => b.type === "tool_result").map((b) => textOf(b.content)) : [],
    );
    toolNames = tools.map((t) => String(t.name ?? "?"));
  }
  const firstUser = conversation.find((m) => m.role === "user");
  return {
    model: String(body.model ?? ""),
    stream: body.stream === true,
    system,
    role: /ROLE:([a-z-]+)/.exec(system)?.[1] ?? "main",
    turn: conversation.filter((m) => m.role === "assistant").length,
    task: firstUser ? textOf(firstUser.content) : "",
    results,
    tools: toolNames,
    messageCount: conversation.length,
  };
}

// ---------------------------------------------------------------------------------------------
// Ids and usage, as real providers shape them

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
function randomId(prefix: string, length: number): string {
  const bytes = randomBytes(length);
  let out = prefix;
  for (const b of bytes) out += ALNUM[b % ALNUM.length];
  return out;
}
const ids = {
  completion: () => randomId("chatcmpl-", 29),
  call: () => randomId("call_", 24),
  message: () => randomId("msg_01", 22),
  toolUse: () => randomId("toolu_01", 22),
  request: () => randomId("req_", 24),
};

const estimateTokens = (s: string) => Math.max(1, Math.ceil(Buffer.byteLength(s) / 4));

// ---------------------------------------------------------------------------------------------
// Normalised replies

type Answer =
  | { kind: "message"; text: string; calls: Array<{ id?: string; name: string; argsJson: string; input: unknown }>; malformed: boolean; usage?: UsageSpec }
  | { kind: "error"; spec: ErrorReply }
  | { kind: "hang"; midStream: boolean }
  | { kind: "delay"; ms: number; then: Reply };

function normalise(reply: Reply): Answer {
  if (typeof reply === "string") return { kind: "message", text: reply, calls: [], malformed: false };
  if (Array.isArray(reply)) return normalise({ toolCalls: reply });
  if ("error" in reply) return { kind: "error", spec: reply };
  if ("hang" in reply) return { kind: "hang", midStream: reply.hang === "mid-stream" };
  if ("delayMs" in reply) return { kind: "delay", ms: reply.delayMs, then: reply.then };
  if ("malformedToolCall" in reply) {
    const m = reply.malformedToolCall;
    // The raw JSON text (OpenAI `arguments`, Anthropic streamed `partial_json`) and the value
    // (Anthropic `tool_use.input`); a truncated object when neither is given.
    const raw = m.arguments ?? (m.input === undefined ? '{"' : JSON.stringify(m.input));
    return {
      kind: "message",
      text: "",
      calls: [{ id: m.id, name: m.name, argsJson: raw, input: m.input === undefined ? raw : m.input }],
      malformed: true,
      usage: reply.usage,
    };
  }
  if ("toolCalls" in reply) {
    return {
      kind: "message",
      text: reply.text ?? "",
      calls: reply.toolCalls.map((c) => ({ id: c.id, name: c.name, argsJson: JSON.stringify(c.args), input: c.args })),
      malformed: false,
      usage: reply.usage,
    };
  }
  return { kind: "message", text: reply.text, calls: [], malformed: false, usage: reply.usage };
}

/** Splits a string into pieces of at most `size` characters (at least two pieces when it has two characters), as streamed deltas. */
function fragments(s: string, size: number): string[] {
  if (s.length <= 1) return [s];
  const step = Math.max(1, Math.min(size, Math.ceil(s.length / 2)));
  const out: string[] = [];
  for (let i = 0; i < s.length; i += step) out.push(s.slice(i, i + step));
  return out;
}

function textPieces(text: string): string[] {
  return text.match(/\S+\s*|\s+/g)?.reduce<string[]>((acc, w, i) => {
    if (i % 3 === 0) acc.push(w);
    else acc[acc.length - 1] += w;
    return acc;
  }, []) ?? [];
}

// ---------------------------------------------------------------------------------------------
// Error bodies in each provider's format

const OPENAI_ERRORS: Record<number, { type: string; code: string | null; message: string }> = {
  400: { type: "invalid_request_error", code: null, message: "Invalid request." },
  401: { type: "invalid_request_error", code: "invalid_api_key", message: "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys." },
  403: { type: "invalid_request_error", code: "unsupported_country_region_territory", message: "Country, region, or territory not supported" },
  404: { type: "invalid_request_error", code: "model_not_found", message: "The model does not exist or you do not have access to it." },
  429: { type: "requests", code: "rate_limit_exceeded", message: "Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1." },
  500: { type: "server_error", code: null, message: "The server had an error while processing your request. Sorry about that!" },
  503: { type: "server_error", code: null, message: "The engine is currently overloaded, please try again later." },
};

const ANTHROPIC_ERRORS: Record<number, { type: string; message: string }> = {
  400: { type: "invalid_request_error", message: "Invalid request." },
  401: { type: "authentication_error", message: "invalid x-api-key" },
  403: { type: "permission_error", message: "Your API key does not have permission to use the specified resource." },
  404: { type: "not_found_error", message: "The requested resource could not be found." },
  413: { type: "request_too_large", message: "Request exceeds the maximum allowed number of bytes." },
  429: { type: "rate_limit_error", message: "Number of request tokens has exceeded your per-minute rate limit." },
  500: { type: "api_error", message: "Internal server error" },
  529: { type: "overloaded_error", message: "Overloaded" },
};

function sendError(res: ServerResponse, api: ProviderApi, spec: ErrorReply): void {
  const requestId = ids.request();
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (api === ProviderApi.OpenAI) headers["x-request-id"] = requestId;
  else headers["request-id"] = requestId;
  if (spec.retryAfter !== undefined) headers["retry-after"] = String(spec.retryAfter);
  Object.assign(headers, spec.headers ?? {});
  let body: string;
  if (spec.body !== undefined) body = spec.body;
  else if (api === ProviderApi.OpenAI) {
    const d = OPENAI_ERRORS[spec.error] ?? (spec.error >= 500 ? OPENAI_ERRORS[500] : OPENAI_ERRORS[400]);
    body = JSON.stringify({
      error: { message: spec.message ?? d.message, type: spec.type ?? d.type, param: null, code: spec.code === undefined ? d.code : spec.code },
    });
  } else {
    const d = ANTHROPIC_ERRORS[spec.error] ?? (spec.error >= 500 ? ANTHROPIC_ERRORS[500] : ANTHROPIC_ERRORS[400]);
    body = JSON.stringify({ type: "error", error: { type: spec.type ?? d.type, message: spec.message ?? d.message }, request_id: requestId });
  }
  res.writeHead(spec.error, headers);
  res.end(body);
}

// ---------------------------------------------------------------------------------------------
// Success bodies

interface Rendered {
  id: string;
  model: string;
  text: string;
  calls: Array<{ id: string; name: string; argsJson: string; input: unknown }>;
  input: number;
  output: number;
}

function render(answer: Extract<Answer, { kind: "message" }>, api: ProviderApi, view: ChatView, requestBytes: string): Rendered {
  const calls = answer.calls.map((c) => ({ ...c, id: c.id ?? (api === ProviderApi.OpenAI ? ids.call() : ids.toolUse()) }));
  const outputText = answer.text + calls.map((c) => c.name + c.argsJson).join("");
  return {
    id: api === ProviderApi.OpenAI ? ids.completion() : ids.message(),
    model: view.model,
    text: answer.text,
    calls,
    input: answer.usage?.input ?? estimateTokens(requestBytes),
    output: answer.usage?.output ?? estimateTokens(outputText),
  };
}

function openaiUsage(r: Rendered) {
  return {
    prompt_tokens: r.input,
    completion_tokens: r.output,
    total_tokens: r.input + r.output,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

function openaiJson(r: Rendered) {
  return {
    id: r.id,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: r.model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: r.calls.length && !r.text ? null : r.text,
          refusal: null,
          ...(r.calls.length
            ? { tool_calls: r.calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.argsJson } })) }
            : {}),
          annotations: [],
        },
        logprobs: null,
        finish_reason: r.calls.length ? "tool_calls" : "stop",
      },
    ],
    usage: openaiUsage(r),
    service_tier: "default",
    system_fingerprint: "fp_standin",
  };
}

/** The `data:` payloads of an OpenAI chat completion stream, `[DONE]` excluded. */
function openaiChunks(r: Rendered, includeUsage: boolean): object[] {
  const created = Math.floor(Date.now() / 1000);
  const base = { id: r.id, object: "chat.completion.chunk", created, model: r.model, service_tier: "default", system_fingerprint: "fp_standin" };
  const usageNull = includeUsage ? { usage: null } : {};
  const chunk = (delta: object, finish: string | null = null) => ({
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...usageNull,
  });
  const out: object[] = [chunk({ role: "assistant", content: r.calls.length && !r.text ? null : "", refusal: null })];
  for (const piece of textPieces(r.text)) out.push(chunk({ content: piece }));
  r.calls.forEach((c, index) => {
    out.push(chunk({ tool_calls: [{ index, id: c.id, type: "function", function: { name: c.name, arguments: "" } }] }));
    for (const frag of fragments(c.argsJson, 8)) out.push(chunk({ tool_calls: [{ index, function: { arguments: frag } }] }));
  });
  out.push(chunk({}, r.calls.length ? "tool_calls" : "stop"));
  if (includeUsage) out.push({ ...base, choices: [], usage: openaiUsage(r) });
  return out;
}

function anthropicContent(r: Rendered): object[] {
  const blocks: object[] = [];
  if (r.text || !r.calls.length) blocks.push({ type: "text", text: r.text });
  for (const c of r.calls) blocks.push({ type: "tool_use", id: c.id, name: c.name, input: c.input });
  return blocks;
}

const anthropicUsage = (input: number, output: number) => ({
  input_tokens: input,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  output_tokens: output,
  service_tier: "standard",
});

function anthropicJson(r: Rendered) {
  return {
    id: r.id,
    type: "message",
    role: "assistant",
    model: r.model,
    content: anthropicContent(r),
    stop_reason: r.calls.length ? "tool_use" : "end_turn",
    stop_sequence: null,
    usage: anthropicUsage(r.input, r.output),
  };
}

/** `[event, data]` pairs of an Anthropic message stream. */
function anthropicEvents(r: Rendered): Array<[string, object]> {
  const out: Array<[string, object]> = [
    // As the real API: message_start reports the input tokens and output_tokens 1; message_delta the final output count.
    ["message_start", { type: "message_start", message: { id: r.id, type: "message", role: "assistant", model: r.model, content: [], stop_reason: null, stop_sequence: null, usage: anthropicUsage(r.input, 1) } }],
  ];
  let index = 0;
  if (r.text || !r.calls.length) {
    out.push(["content_block_start", { type: "content_block_start", index, content_block: { type: "text", text: "" } }]);
    out.push(["ping", { type: "ping" }]);
    for (const piece of textPieces(r.text)) out.push(["content_block_delta", { type: "content_block_delta", index, delta: { type: "text_delta", text: piece } }]);
    out.push(["content_block_stop", { type: "content_block_stop", index }]);
    index++;
  }
  for (const c of r.calls) {
    out.push(["content_block_start", { type: "content_block_start", index, content_block: { type: "tool_use", id: c.id, name: c.name, input: {} } }]);
    for (const frag of fragments(c.argsJson, 8)) {
      out.push(["content_block_delta", { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: frag } }]);
    }
    out.push(["content_block_stop", { type: "content_block_stop", index }]);
    index++;
  }
  out.push(["message_delta", { type: "message_delta", delta: { stop_reason: r.calls.length ? "tool_use" : "end_turn", stop_sequence: null }, usage: { output_tokens: r.output } }]);
  out.push(["message_stop", { type: "message_stop" }]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The server

export async function startProviderStandIn(opts: ProviderStandInOptions = {}): Promise<ProviderStandIn> {
  const models = opts.models ?? DEFAULT_MODELS;
  const knows = (id: string) => models === "any" || models.includes(id);
  const requests: RecordedRequest[] = [];
  const queue: Reply[] = [];
  let handler: ReplyScript | undefined;
  let closed = false;
  const sockets = new Set<Socket>();
  /** Pending delays: each cancels its timer and resolves `false`. */
  const delays = new Set<() => void>();

  /** Waits `ms`; `false` when the client went away or the stand-in closed first. */
  const wait = (ms: number, res: ServerResponse) =>
    new Promise<boolean>((resolve) => {
      const cancel = () => {
        clearTimeout(timer);
        delays.delete(cancel);
        resolve(false);
      };
      const timer = setTimeout(() => {
        delays.delete(cancel);
        resolve(!res.destroyed && !closed);
      }, ms);
      delays.add(cancel);
      res.once("close", cancel);
    });

  const apiOf = (req: IncomingMessage, path: string): ProviderApi => {
    if (path.startsWith("/v1/messages")) return ProviderApi.Anthropic;
    if (path.startsWith("/v1/chat/")) return ProviderApi.OpenAI;
    return req.headers["anthropic-version"] || req.headers["x-api-key"] ? ProviderApi.Anthropic : ProviderApi.OpenAI;
  };

  const record = (req: IncomingMessage, path: string, raw: Buffer): RecordedRequest => {
    const headers: Record<string, string> = {};
    let auth: RecordedRequest["auth"];
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined) continue;
      const v = Array.isArray(value) ? value.join(", ") : value;
      if (CREDENTIAL_HEADERS.includes(name)) {
        if (!auth && name !== "cookie") auth = { header: name, sha256: createHash("sha256").update(v.replace(/^Bearer\s+/i, "")).digest("hex").slice(0, 16) };
        continue;
      }
      headers[name] = v;
    }
    let body: unknown;
    if (raw.length) {
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        body = undefined;
      }
    }
    const rec: RecordedRequest = { seq: requests.length + 1, api: apiOf(req, path), method: req.method ?? "GET", path, headers, ...(auth ? { auth } : {}), body, bytes: raw.length };
    requests.push(rec);
    return rec;
  };

  const presentedKey = (req: IncomingMessage): string | undefined => {
    const x = req.headers["x-api-key"] ?? req.headers["api-key"];
    if (typeof x === "string") return x;
    return req.headers.authorization?.replace(/^Bearer\s+/i, "");
  };

  const modelJson = (api: ProviderApi, id: string) =>
    api === ProviderApi.OpenAI
      ? { id, object: "model", created: 1_700_000_000, owned_by: "stand-in" }
      : { type: "model", id, display_name: id, created_at: "2025-01-01T00:00:00Z" };

  async function answerChat(rec: RecordedRequest, res: ServerResponse, reply: Reply): Promise<void> {
    const api = rec.api;
    const view = rec.chat!;
    const answer = normalise(reply);
    if (answer.kind === "delay") {
      if (await wait(answer.ms, res)) await answerChat(rec, res, answer.then);
      return;
    }
    if (answer.kind === "error") {
      rec.outcome = `error:${answer.spec.error}`;
      sendError(res, api, answer.spec);
      return;
    }
    if (answer.kind === "hang") {
      rec.outcome = answer.midStream ? "hang:mid-stream" : "hang";
      if (answer.midStream && view.stream) {
        res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive" });
        const r = render({ kind: "message", text: "…", calls: [], malformed: false }, api, view, JSON.stringify(rec.body));
        if (api === ProviderApi.OpenAI) res.write(`data: ${JSON.stringify(openaiChunks(r, false)[0])}\n\n`);
        else res.write(`event: message_start\ndata: ${JSON.stringify(anthropicEvents(r)[0][1])}\n\n`);
      }
      return; // the socket stays open until the client gives up or close() destroys it
    }
    rec.outcome = answer.malformed ? "malformed_tool_call" : answer.calls.length ? "tool_calls" : "text";
    const r = render(answer, api, view, JSON.stringify(rec.body));
    const requestId = ids.request();
    if (!view.stream) {
      const body = JSON.stringify(api === ProviderApi.OpenAI ? openaiJson(r) : anthropicJson(r));
      res.writeHead(200, { "content-type": "application/json", [api === ProviderApi.OpenAI ? "x-request-id" : "request-id"]: requestId });
      res.end(body);
      return;
    }
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      [api === ProviderApi.OpenAI ? "x-request-id" : "request-id"]: requestId,
    });
    if (api === ProviderApi.OpenAI) {
      const includeUsage = (rec.body as Json).stream_options !== undefined && ((rec.body as Json).stream_options as Json)?.include_usage === true;
      for (const c of openaiChunks(r, includeUsage)) res.write(`data: ${JSON.stringify(c)}\n\n`);
      res.end("data: [DONE]\n\n");
    } else {
      for (const [event, data] of anthropicEvents(r)) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      res.end();
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const path = new URL(req.url ?? "/", "http://stand-in").pathname.replace(/\/+$/, "");
    const rec = record(req, path, raw);
    const api = rec.api;
    if (opts.apiKey !== undefined && presentedKey(req) !== opts.apiKey) {
      rec.outcome = "error:401";
      sendError(res, api, { error: 401 });
      return;
    }
    if (req.method === "GET" && path === "/v1/models") {
      rec.outcome = "models";
      const data = (models === "any" ? DEFAULT_MODELS : models).map((id) => modelJson(api, id));
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(api === ProviderApi.OpenAI ? { object: "list", data } : { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null }));
      return;
    }
    const modelPath = /^\/v1\/models\/(.+)$/.exec(path);
    if (req.method === "GET" && modelPath) {
      const id = decodeURIComponent(modelPath[1]);
      if (!knows(id)) {
        rec.outcome = "error:404";
        sendError(res, api, { error: 404, message: api === ProviderApi.OpenAI ? `The model '${id}' does not exist` : `model: ${id}` });
        return;
      }
      rec.outcome = "model";
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(modelJson(api, id)));
      return;
    }
    const isChat = req.method === "POST" && (path === "/v1/chat/completions" || path === "/v1/messages");
    if (!isChat) {
      rec.outcome = "error:404";
      sendError(res, api, { error: 404, message: `provider stand-in: no route ${req.method} ${path}` });
      return;
    }
    if (!rec.body || typeof rec.body !== "object") {
      rec.outcome = "error:400";
      sendError(res, api, { error: 400, message: "provider stand-in: the body is not JSON" });
      return;
    }
    rec.chat = chatView(api, rec.body as Json);
    if (!knows(rec.chat.model)) {
      rec.outcome = "error:404";
      const m = rec.chat.model;
      sendError(res, api, { error: 404, message: api === ProviderApi.OpenAI ? `The model '${m}' does not exist or you do not have access to it.` : `model: ${m}` });
      return;
    }
    let reply: Reply | undefined = queue.shift();
    if (reply === undefined && handler) {
      try {
        reply = await handler({ ...rec.chat, api, request: rec });
      } catch (err) {
        reply = { error: 400, message: `provider stand-in: the script threw: ${(err as Error)?.message ?? err}` };
      }
    }
    // 400 is not retried by the LangChain clients, so a missing reply fails at once and says why.
    reply ??= { error: 400, message: `provider stand-in: no reply scripted for request #${rec.seq} (${rec.chat.role} agent, turn ${rec.chat.turn})` };
    await answerChat(rec, res, reply);
  }

  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      handle(req, res, Buffer.concat(parts)).catch((err) => {
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(500, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: { message: `provider stand-in failed: ${(err as Error)?.message ?? err}`, type: "server_error", param: null, code: null } }));
        } else res.destroy();
      });
    });
  });
  server.keepAliveTimeout = 1000;
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  server.unref();
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    openaiBaseUrl: `${url}/v1`,
    anthropicBaseUrl: url,
    requests,
    chatRequests: () => requests.filter((r) => r.chat !== undefined),
    enqueue: (...replies) => void queue.push(...replies),
    script: (h) => void (handler = h),
    get pending() {
      return queue.length;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const cancel of [...delays]) cancel();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await done;
    },
  };
}
