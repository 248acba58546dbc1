import { deadPort } from "../support/dead-port.ts";
/**
 * `vibewriter doctor` against a stand-in provider on loopback that speaks the providers' real
 * models routes and error formats: the configured endpoint answers, accepts the key and knows the
 * model — or the doctor says which of these fails, without a token spent and without printing a key.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChatOpenAI } from "@langchain/openai";
import { chooseModel } from "../../src/agent/model.ts";
import { checkModelEndpoint, probeModelEndpoint } from "../../src/cli/doctor/index.ts";
import { LANGCHAIN_UPGRADE_NOTICE, silenceLangChainUpgradeNotice } from "../../src/cli/langchain-notice.ts";
import { main } from "../../src/cli/main.ts";
import { type NatsServer, startNatsServer } from "../../src/nats/server.ts";
import { startProviderStandIn, type ProviderStandIn } from "../support/provider-standin.ts";
import { captureIo } from "./capture.ts";

interface Check {
  id: string;
  status: string;
  detail: string;
  fix?: string;
  required: boolean;
}

const KEY = "sk-standin-correct-key-7f3a9c";
const WRONG = "sk-wrong-key-should-never-print-41d2";

describe("vibewriter doctor: the model endpoint", () => {
  let nats: NatsServer;
  let stateDir: string;
  let provider: ProviderStandIn;
  beforeAll(async () => {
    nats = await startNatsServer(); // fails with an install hint when nats-server is missing
    stateDir = await mkdtemp(join(tmpdir(), "vw-doctor-provider-"));
    provider = await startProviderStandIn({ models: ["stand-in-model", "claude-sonnet-4-5"], apiKey: KEY });
  });
  afterAll(async () => {
    await provider?.close();
    await nats?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  /** Runs `doctor --json` (and the text form) with `env`; the model checks, the exit code and what was printed. */
  async function doctor(env: NodeJS.ProcessEnv) {
    const base = { PATH: process.env.PATH, NATS_URL: nats.url, VIBEWRITER_STATE_DIR: stateDir };
    const json = captureIo({ ...base, ...env });
    const code = await main(["doctor", "--json"], json);
    const report = JSON.parse(json.out()) as { ok: boolean; checks: Check[] };
    const text = captureIo({ ...base, ...env });
    await main(["doctor"], text);
    return {
      code,
      report,
      model: report.checks.find((c) => c.id === "model")!,
      endpoint: report.checks.find((c) => c.id === "model-endpoint")!,
      printed: json.out() + json.err() + text.out() + text.err(),
      text: text.out(),
    };
  }

  const requestsSince = (n: number) => provider.requests.slice(n);

  it("openai-compatible, known model: ready, by GET /v1/models/{id} with the bearer key, no chat request", async () => {
    const before = provider.requests.length;
    const r = await doctor({ VIBEWRITER_MODEL: "openai-compatible:stand-in-model", VIBEWRITER_BASE_URL: provider.openaiBaseUrl, OPENAI_API_KEY: KEY });
    expect(r.endpoint).toMatchObject({ status: "ready", required: true });
    expect(r.endpoint.detail).toBe(`openai-compatible:stand-in-model answers at ${provider.openaiBaseUrl}, model found`);
    expect(r.text).toMatch(/\[ok {2}\] Model endpoint\s+openai-compatible:stand-in-model answers at http:\/\/127\.0\.0\.1:\d+\/v1, model found/);
    const asked = requestsSince(before);
    expect(asked.map((q) => `${q.method} ${q.path} ${q.outcome}`)).toEqual(Array(2).fill("GET /v1/models/stand-in-model model"));
    expect(asked[0].auth?.header).toBe("authorization");
    expect(provider.chatRequests()).toHaveLength(0); // no tokens spent
  });

  it("openai (OPENAI_BASE_URL), known model: ready", async () => {
    const r = await doctor({ VIBEWRITER_MODEL: "openai:stand-in-model", OPENAI_BASE_URL: provider.openaiBaseUrl, OPENAI_API_KEY: KEY });
    expect(r.endpoint.status).toBe("ready");
    expect(r.endpoint.detail).toBe(`openai:stand-in-model answers at ${provider.openaiBaseUrl}, model found`);
  });

  it("anthropic (ANTHROPIC_BASE_URL), known model: ready, by GET /v1/models/{id} with x-api-key and anthropic-version", async () => {
    const before = provider.requests.length;
    const r = await doctor({ VIBEWRITER_MODEL: "anthropic:claude-sonnet-4-5", ANTHROPIC_BASE_URL: provider.anthropicBaseUrl, ANTHROPIC_API_KEY: KEY });
    expect(r.endpoint).toMatchObject({ status: "ready", required: true });
    expect(r.endpoint.detail).toBe(`anthropic:claude-sonnet-4-5 answers at ${provider.anthropicBaseUrl}, model found`);
    const asked = requestsSince(before);
    expect(asked).toHaveLength(2);
    for (const q of asked) {
      expect(`${q.method} ${q.path} ${q.outcome}`).toBe("GET /v1/models/claude-sonnet-4-5 model");
      expect(q.api).toBe("anthropic");
      expect(q.headers["anthropic-version"]).toBe("2023-06-01");
      expect(q.auth?.header).toBe("x-api-key");
    }
    expect(provider.chatRequests()).toHaveLength(0);
    expect(r.code).toBe(r.report.ok ? 0 : 1);
  });

  it("an unknown model: missing, names the model with the provider's 404, the fix lists what the server has", async () => {
    const openai = await doctor({ VIBEWRITER_MODEL: "openai-compatible:no-such-model", VIBEWRITER_BASE_URL: provider.openaiBaseUrl, OPENAI_API_KEY: KEY });
    expect(openai.endpoint).toMatchObject({ status: "missing", required: true });
    expect(openai.endpoint.detail).toBe(`${provider.openaiBaseUrl} has no model "no-such-model" (404 model_not_found: The model 'no-such-model' does not exist)`);
    expect(openai.endpoint.fix).toBe("Set VIBEWRITER_MODEL=openai-compatible:<model> to a model the server has; it lists: stand-in-model, claude-sonnet-4-5");
    expect(openai.report.ok).toBe(false);
    expect(openai.code).toBe(1);
    expect(openai.text).toMatch(/\[MISS\] Model endpoint\s+http:\/\/127\.0\.0\.1:\d+\/v1 has no model "no-such-model"/);
    expect(openai.text).toMatch(/Not ready: .*Model endpoint/);

    const anthropic = await doctor({ VIBEWRITER_MODEL: "anthropic:claude-nope-9", ANTHROPIC_BASE_URL: provider.anthropicBaseUrl, ANTHROPIC_API_KEY: KEY });
    expect(anthropic.endpoint.status).toBe("missing");
    expect(anthropic.endpoint.detail).toBe(`${provider.anthropicBaseUrl} has no model "claude-nope-9" (404 not_found_error: model: claude-nope-9)`);
    expect(anthropic.endpoint.fix).toMatch(/^Set VIBEWRITER_MODEL=anthropic:<model> to a model the server has; it lists: stand-in-model, claude-sonnet-4-5$/);
  });

  it("a wrong key: missing with the provider's own 401 message, the fix names the variable, the key never appears", async () => {
    const openai = await doctor({ VIBEWRITER_MODEL: "openai:stand-in-model", OPENAI_BASE_URL: provider.openaiBaseUrl, OPENAI_API_KEY: WRONG });
    expect(openai.endpoint.status).toBe("missing");
    expect(openai.endpoint.detail).toBe(
      `openai:stand-in-model: ${provider.openaiBaseUrl} refused the key from OPENAI_API_KEY (401 invalid_api_key: Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.)`,
    );
    expect(openai.endpoint.fix).toBe("Check OPENAI_API_KEY: the server does not accept it.");
    expect(openai.printed).not.toContain(WRONG);
    expect(openai.printed).not.toContain(KEY);

    const anthropic = await doctor({ VIBEWRITER_MODEL: "anthropic:claude-sonnet-4-5", ANTHROPIC_BASE_URL: provider.anthropicBaseUrl, ANTHROPIC_API_KEY: WRONG });
    expect(anthropic.endpoint.status).toBe("missing");
    expect(anthropic.endpoint.detail).toBe(
      `anthropic:claude-sonnet-4-5: ${provider.anthropicBaseUrl} refused the key from ANTHROPIC_API_KEY (401 authentication_error: invalid x-api-key)`,
    );
    expect(anthropic.endpoint.fix).toBe("Check ANTHROPIC_API_KEY: the server does not accept it.");
    expect(anthropic.printed).not.toContain(WRONG);

    // Before the CLI's own redaction: the check's result carries no key either.
    const env = { VIBEWRITER_MODEL: "anthropic:claude-sonnet-4-5", ANTHROPIC_BASE_URL: provider.anthropicBaseUrl, ANTHROPIC_API_KEY: WRONG };
    const raw = await checkModelEndpoint(async () => chooseModel(env), (c) => probeModelEndpoint(c, env));
    expect(raw.status).toBe("missing");
    expect(JSON.stringify(raw)).not.toContain(WRONG);
  });

  it("an OpenAI-compatible server without a key when it wants one: says no key was sent and to set OPENAI_API_KEY", async () => {
    const r = await doctor({ VIBEWRITER_MODEL: "openai-compatible:stand-in-model", VIBEWRITER_BASE_URL: provider.openaiBaseUrl });
    expect(r.endpoint.status).toBe("missing");
    expect(r.endpoint.detail).toMatch(/refused the request \(no key sent\) \(401 invalid_api_key: /);
    expect(r.endpoint.fix).toBe("Set OPENAI_API_KEY.");
  });

  it("an unreachable URL (a dead loopback port): missing, names the URL and 'connection refused', the fix names the variable", async () => {
    const url = `http://127.0.0.1:${await deadPort()}/v1`;
    const r = await doctor({ VIBEWRITER_MODEL: "openai-compatible:stand-in-model", VIBEWRITER_BASE_URL: url });
    expect(r.endpoint).toMatchObject({ status: "missing", required: true });
    expect(r.endpoint.detail).toBe(`openai-compatible:stand-in-model: no answer from ${url}/models/stand-in-model: connection refused`);
    expect(r.endpoint.fix).toBe(`Start the server at ${url}, or fix VIBEWRITER_BASE_URL.`);
    expect(r.code).toBe(1);

    const origin = `http://127.0.0.1:${await deadPort()}`;
    const a = await doctor({ VIBEWRITER_MODEL: "anthropic:claude-sonnet-4-5", ANTHROPIC_BASE_URL: origin, ANTHROPIC_API_KEY: KEY });
    expect(a.endpoint.detail).toBe(`anthropic:claude-sonnet-4-5: no answer from ${origin}/v1/models/claude-sonnet-4-5: connection refused`);
    expect(a.endpoint.fix).toBe(`Start the server at ${origin}, or fix ANTHROPIC_BASE_URL.`);
  });

  it("no model configured: the endpoint is not checked and nothing is sent", async () => {
    const before = provider.requests.length;
    // A base URL alone configures no model.
    const r = await doctor({ OPENAI_BASE_URL: provider.openaiBaseUrl, VIBEWRITER_BASE_URL: provider.openaiBaseUrl });
    expect(r.model.status).toBe("missing");
    expect(r.endpoint).toMatchObject({ status: "missing", required: false, detail: "not checked: no model configured (see Model)" });
    expect(provider.requests.length).toBe(before);
    let probed = false;
    const check = await checkModelEndpoint(async () => chooseModel({}), async () => {
      probed = true;
      throw new Error("must not probe");
    });
    expect(check.required).toBe(false);
    expect(probed).toBe(false);
  });
});

describe("probeModelEndpoint", () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = undefined;
  });

  /** A local server with only `GET /v1/models` (as llama.cpp and vLLM have): every other path is a plain 404. */
  async function listOnlyServer(ids: string[]): Promise<{ url: string; paths: string[] }> {
    const paths: string[] = [];
    server = createHttpServer((req, res) => {
      paths.push(`${req.method} ${req.url}`);
      if (req.method === "GET" && req.url === "/v1/models") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ object: "list", data: ids.map((id) => ({ id, object: "model", owned_by: "llamacpp" })) }));
      } else {
        res.writeHead(404, { "content-type": "text/plain" });
        res.end("File Not Found");
      }
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`, paths };
  }

  const compatible = (model: string, baseUrl: string) => ({ provider: "openai-compatible" as const, model, baseUrl, timeoutMs: 180_000 });

  it("a server without the per-model route: falls back to the list and finds the id there", async () => {
    const s = await listOnlyServer(["qwen2.5:7b-instruct", "meta-llama/Llama-3.1-8B"]);
    for (const model of ["qwen2.5:7b-instruct", "meta-llama/Llama-3.1-8B"]) {
      const f = await probeModelEndpoint(compatible(model, s.url), {});
      expect(f).toMatchObject({ verdict: "found", via: "list" });
      const check = await checkModelEndpoint(async () => compatible(model, s.url), async (c) => probeModelEndpoint(c, {}));
      expect(check.detail).toBe(`openai-compatible:${model} answers at ${s.url}, model found in its list`);
    }
    expect(s.paths.slice(0, 2)).toEqual(["GET /v1/models/qwen2.5:7b-instruct", "GET /v1/models"]);
    const missing = await probeModelEndpoint(compatible("llama3", s.url), {});
    expect(missing).toMatchObject({ verdict: "unknown-model", offered: ["qwen2.5:7b-instruct", "meta-llama/Llama-3.1-8B"] });
  });

  it("a base URL that is no models API (the /v1 forgotten): says so and points at the variable", async () => {
    const s = await listOnlyServer(["m"]);
    const origin = s.url.replace(/\/v1$/, "");
    const f = await probeModelEndpoint(compatible("m", origin), { VIBEWRITER_BASE_URL: origin });
    expect(f.verdict).toBe("unexpected");
    const check = await checkModelEndpoint(async () => compatible("m", origin), async (c) => probeModelEndpoint(c, { VIBEWRITER_BASE_URL: origin }));
    expect(check.status).toBe("missing");
    expect(check.detail).toMatch(/neither GET .*\/models\/m \(404: File Not Found\) nor GET .*\/models \(404\) answers as a models API/);
    expect(check.fix).toBe("Check VIBEWRITER_BASE_URL: an OpenAI-compatible base URL usually ends in /v1.");
  });

  it("a server that accepts the connection and never answers: cut at the deadline, never hangs", async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((s) => void sockets.add(s));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(silent.address() as { port: number }).port}/v1`;
      const f = await probeModelEndpoint(compatible("m", url), {}, { timeoutMs: 300 });
      expect(f).toMatchObject({ verdict: "unreachable", message: "no answer within 0.3 s", url: `${url}/models/m` });
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });
});

describe("LangChain's upgrade notice", () => {
  /** A real ChatOpenAI call whose tool call has truncated JSON arguments (the situation that prints the notice). */
  async function malformedToolCall(provider: ProviderStandIn): Promise<void> {
    provider.enqueue({ malformedToolCall: { name: "read_file", arguments: '{"path": "/notes/a' } });
    const model = new ChatOpenAI({ model: "stand-in-model", apiKey: "k", maxRetries: 0, configuration: { baseURL: provider.openaiBaseUrl } }).bindTools([
      { type: "function", function: { name: "read_file", description: "Reads a file.", parameters: { type: "object", properties: { path: { type: "string" } } } } },
    ]);
    const reply = await model.invoke("Read /notes/a.md");
    expect(reply.tool_calls).toEqual([]);
    expect(reply.invalid_tool_calls).toHaveLength(1);
  }

  it("is printed by @langchain/core for a malformed tool call, and dropped once the CLI has started; other warnings still pass", async () => {
    const provider = await startProviderStandIn();
    const saved = console.warn;
    const warned: string[] = [];
    console.warn = (...args: unknown[]) => void warned.push(args.map(String).join(" "));
    try {
      // Without the filter: the notice appears (so this test would notice LangChain changing it).
      await malformedToolCall(provider);
      expect(warned.some((w) => w.startsWith(LANGCHAIN_UPGRADE_NOTICE) && w.includes("pnpm install"))).toBe(true);

      // The CLI installs the filter when it starts (any command).
      warned.length = 0;
      expect(await main(["--version"], captureIo({}))).toBe(0);
      await malformedToolCall(provider);
      console.warn("another warning", 42);
      expect(warned).toEqual(["another warning 42"]);

      // Idempotent: a second start does not wrap twice; restoring puts the original back.
      const filtered = console.warn;
      const restore = silenceLangChainUpgradeNotice();
      expect(console.warn).toBe(filtered);
      restore();
      console.warn(LANGCHAIN_UPGRADE_NOTICE);
      expect(warned).toEqual(["another warning 42", LANGCHAIN_UPGRADE_NOTICE]);
    } finally {
      console.warn = saved;
      await provider.close();
    }
  });
});
