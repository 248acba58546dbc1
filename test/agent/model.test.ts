import { ChatAnthropic } from "@langchain/anthropic";
import { ChatOpenAI } from "@langchain/openai";
import { AgentErrorCode, ModelNotConfiguredError } from "../../src/agent/errors.ts";
import { chooseModel, resolveModel } from "../../src/agent/model.ts";

function thrown(fn: () => unknown): ModelNotConfiguredError {
  try {
    fn();
  } catch (err) {
    return err as ModelNotConfiguredError;
  }
  throw new Error("expected a throw");
}

describe("resolveModel", () => {
  it("with nothing configured says exactly what to set", () => {
    const err = thrown(() => resolveModel({}));
    expect(err).toBeInstanceOf(ModelNotConfiguredError);
    expect(err.code).toBe(AgentErrorCode.ModelNotConfigured);
    for (const name of ["ANTHROPIC_API_KEY", "OPENAI_API_KEY", "VIBEWRITER_MODEL", "VIBEWRITER_BASE_URL", "vibewriter demo"]) {
      expect(err.message).toContain(name);
    }
  });

  it("picks Anthropic from its key, and a named model", () => {
    expect(resolveModel({ ANTHROPIC_API_KEY: "k" })).toBeInstanceOf(ChatAnthropic);
    const m = resolveModel({ VIBEWRITER_MODEL: "anthropic:claude-haiku-4-5", ANTHROPIC_API_KEY: "k" }) as ChatAnthropic;
    expect(m.model).toBe("claude-haiku-4-5");
  });

  it("picks OpenAI and OpenAI-compatible servers", () => {
    const o = resolveModel({ VIBEWRITER_MODEL: "openai:gpt-4.1-mini", OPENAI_API_KEY: "k" }) as ChatOpenAI;
    expect(o).toBeInstanceOf(ChatOpenAI);
    expect(o.model).toBe("gpt-4.1-mini");
    const c = chooseModel({ VIBEWRITER_MODEL: "openai-compatible:llama3.1", VIBEWRITER_BASE_URL: "http://localhost:11434/v1" });
    expect(c).toEqual({ provider: "openai-compatible", model: "llama3.1", baseUrl: "http://localhost:11434/v1", timeoutMs: 180_000, maxRetries: 3 });
    expect(resolveModel({ VIBEWRITER_MODEL: "openai-compatible:llama3.1", OPENAI_BASE_URL: "http://h:8000/v1" })).toBeInstanceOf(ChatOpenAI);
  });

  it("names the missing piece for each provider", () => {
    expect(thrown(() => resolveModel({ VIBEWRITER_MODEL: "anthropic:x" })).message).toContain("ANTHROPIC_API_KEY");
    expect(thrown(() => resolveModel({ VIBEWRITER_MODEL: "openai:x" })).message).toContain("OPENAI_API_KEY");
    expect(thrown(() => resolveModel({ VIBEWRITER_MODEL: "openai-compatible:x" })).message).toContain("VIBEWRITER_BASE_URL");
    expect(thrown(() => resolveModel({ VIBEWRITER_MODEL: "openai-compatible:x", VIBEWRITER_BASE_URL: "not a url" })).message).toContain("not a URL");
    expect(thrown(() => resolveModel({ VIBEWRITER_MODEL: "gemini:x" })).message).toContain('unknown provider "gemini"');
    expect(thrown(() => resolveModel({ VIBEWRITER_MODEL: "anthropic" })).message).toContain("<provider>:<model>");
  });

  it("never puts the key in an error message", () => {
    const err = thrown(() => resolveModel({ VIBEWRITER_MODEL: "gemini:x", OPENAI_API_KEY: "sk-secret-123" }));
    expect(err.message).not.toContain("sk-secret-123");
  });

  it("timeouts and retries come from the environment, bad values are refused with the variable's name", () => {
    const base = { VIBEWRITER_MODEL: "openai-compatible:m", VIBEWRITER_BASE_URL: "http://localhost:1/v1" };
    expect(chooseModel({ ...base, VIBEWRITER_MODEL_TIMEOUT_SEC: "2.5", VIBEWRITER_MODEL_MAX_RETRIES: "0" })).toMatchObject({ timeoutMs: 2500, maxRetries: 0 });
    expect(() => chooseModel({ ...base, VIBEWRITER_MODEL_TIMEOUT_SEC: "soon" })).toThrow(/VIBEWRITER_MODEL_TIMEOUT_SEC="soon" must be a number/);
    expect(() => chooseModel({ ...base, VIBEWRITER_MODEL_MAX_RETRIES: "-1" })).toThrow(/VIBEWRITER_MODEL_MAX_RETRIES/);
    expect(chooseModel({ ANTHROPIC_API_KEY: "k", ANTHROPIC_BASE_URL: "http://127.0.0.1:9/" })).toMatchObject({ provider: "anthropic", baseUrl: "http://127.0.0.1:9/" });
  });
});
