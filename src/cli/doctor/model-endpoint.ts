/**
 * Does the configured model endpoint answer, and does it know the model? Asked without spending a
 * token: the providers' model-metadata routes, never a chat request.
 *
 * - OpenAI and OpenAI-compatible: `GET {baseURL}/models/{model}`; when the server has no per-model
 *   route (llama.cpp, vLLM and other local servers answer 404/405), `GET {baseURL}/models` and the
 *   id looked up in the list.
 * - Anthropic: `GET {ANTHROPIC_BASE_URL or https://api.anthropic.com}/v1/models/{model}` with
 *   `x-api-key` and `anthropic-version: 2023-06-01` (the route resolves aliases such as
 *   `claude-sonnet-4-5`); the list as a fallback for gateways without the per-model route.
 *
 * One deadline covers every request of a probe (5 s by default), so an unreachable or silent
 * endpoint never hangs the doctor. Redirects are not followed (a key is never sent elsewhere).
 * The key goes in a request header only: it is scrubbed from everything a finding carries.
 */
import { type ModelChoice, ModelProvider } from "../../agent/index.ts";

export const DEFAULT_ENDPOINT_URLS = {
  openai: "https://api.openai.com/v1",
  anthropic: "https://api.anthropic.com",
} as const;
export const ANTHROPIC_VERSION = "2023-06-01";
export const DEFAULT_PROBE_TIMEOUT_MS = 5_000;

export const EndpointVerdict = {
  /** The endpoint answered and knows the model. */
  Found: "found",
  /** 401/403: the key was refused (or has no access). */
  Refused: "refused",
  /** The endpoint answered, but has no such model. */
  UnknownModel: "unknown-model",
  /** Nothing answered: connection refused, host not found, or no answer before the deadline. */
  Unreachable: "unreachable",
  /** Something answered, but not as a provider does (neither models route, a 5xx, a redirect…). */
  Unexpected: "unexpected",
} as const;
export type EndpointVerdict = (typeof EndpointVerdict)[keyof typeof EndpointVerdict];

export interface ModelEndpointFinding {
  verdict: EndpointVerdict;
  provider: ModelProvider;
  model: string;
  /** The base URL asked (origin and path only: no credentials, no query). */
  baseUrl: string;
  /** The environment variable that sets `baseUrl`, when one did. */
  baseUrlVar?: string;
  /** The environment variable the key comes from. */
  keyVar: string;
  /** Whether a key was sent. */
  keySent: boolean;
  /** The URL of the request that decided the verdict (origin and path only). */
  url: string;
  /** HTTP status of that request, when there was an answer. */
  status?: number;
  /** The provider's own words (its error message and type), or why nothing answered. Never a key. */
  message?: string;
  /** How the model was found: its own route, or the server's list. */
  via?: "model" | "list";
  /** A few ids the server lists, when it does not know the model. */
  offered?: string[];
}

export interface ModelEndpointProbeOptions {
  /** Deadline for the whole probe. Default 5 s (never more than the model's own call timeout). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** Where `chooseModel`'s choice is served, which key it uses, and the variables that set them. */
export function endpointOf(choice: Pick<ModelChoice, "provider" | "baseUrl">, env: NodeJS.ProcessEnv): {
  baseUrl: string;
  baseUrlVar?: string;
  keyVar: "ANTHROPIC_API_KEY" | "OPENAI_API_KEY";
  key?: string;
} {
  const trim = (u: string) => u.trim().replace(/\/+$/, "");
  if (choice.provider === ModelProvider.Anthropic) {
    return {
      baseUrl: trim(choice.baseUrl ?? DEFAULT_ENDPOINT_URLS.anthropic),
      ...(choice.baseUrl ? { baseUrlVar: "ANTHROPIC_BASE_URL" } : {}),
      keyVar: "ANTHROPIC_API_KEY",
      key: env.ANTHROPIC_API_KEY || undefined,
    };
  }
  const baseUrlVar =
    choice.provider === ModelProvider.OpenAICompatible && env.VIBEWRITER_BASE_URL ? "VIBEWRITER_BASE_URL" : choice.baseUrl ? "OPENAI_BASE_URL" : undefined;
  return {
    baseUrl: trim(choice.baseUrl ?? DEFAULT_ENDPOINT_URLS.openai),
    ...(baseUrlVar ? { baseUrlVar } : {}),
    keyVar: "OPENAI_API_KEY",
    key: env.OPENAI_API_KEY || undefined,
  };
}

/** A URL fit to print: origin and path, without user, password or query. */
export function printableUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`.replace(/\/+$/, "");
  } catch {
    return "(not a URL)";
  }
}

/** Path segment for a model id; `:` stays (Ollama tags, OpenAI fine-tunes), `/` is escaped. */
const segment = (model: string) => encodeURIComponent(model).replace(/%3A/gi, ":");

const oneLine = (s: string, max = 300) => {
  const line = s.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
};

/** The provider's own error message: OpenAI `{ error: { message, type, code } }`, Anthropic `{ error: { type, message } }`, else the text. */
function providerMessage(body: string): string | undefined {
  try {
    const json = JSON.parse(body) as { error?: unknown; message?: unknown; detail?: unknown };
    const err = json.error;
    if (err && typeof err === "object") {
      const e = err as { message?: unknown; type?: unknown; code?: unknown };
      const kind = typeof e.code === "string" && e.code ? e.code : typeof e.type === "string" ? e.type : "";
      const msg = typeof e.message === "string" ? e.message : "";
      if (msg || kind) return oneLine(kind && msg ? `${kind}: ${msg}` : kind || msg);
    }
    if (typeof err === "string") return oneLine(err);
    if (typeof json.message === "string") return oneLine(json.message);
    if (typeof json.detail === "string") return oneLine(json.detail);
  } catch {
    // not JSON
  }
  return body.trim() ? oneLine(body) : undefined;
}

/** Why a request got no answer, in words: connection refused, host not found, timeout. */
function unreachableReason(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string; name?: string } };
  if (e?.name === "TimeoutError" || e?.cause?.name === "TimeoutError") return `no answer within ${Math.round(timeoutMs / 100) / 10} s`;
  const code = e?.cause?.code;
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "host not found (DNS)";
    case "ECONNRESET":
      return "connection reset";
    case "ENETUNREACH":
    case "EHOSTUNREACH":
      return "network unreachable";
  }
  if (e?.cause?.message === "bad port") return "the port is one fetch refuses to use (a reserved port)";
  if (code?.startsWith("ERR_TLS") || code?.includes("CERT")) return `TLS failed (${code})`;
  return oneLine(code ? `${code}: ${e?.cause?.message ?? e?.message ?? ""}` : (e?.cause?.message ?? e?.message ?? String(err)));
}

/** Ids in a models list: OpenAI `{ data: [{ id }] }`, Anthropic `{ data: [{ id }] }`, Ollama-style `{ models: [{ name }] }`. */
function listedIds(body: string): string[] | undefined {
  try {
    const json = JSON.parse(body) as { data?: unknown; models?: unknown };
    const items = Array.isArray(json.data) ? json.data : Array.isArray(json.models) ? json.models : undefined;
    if (!items) return undefined;
    return items
      .map((m) => (m && typeof m === "object" ? ((m as { id?: unknown; name?: unknown; model?: unknown }).id ?? (m as { name?: unknown }).name ?? (m as { model?: unknown }).model) : m))
      .filter((id): id is string => typeof id === "string");
  } catch {
    return undefined;
  }
}

/**
 * Probes the endpoint `choice` (from `chooseModel`) points at. Never throws and never waits past
 * the deadline; the finding never carries the key.
 */
export async function probeModelEndpoint(
  choice: Pick<ModelChoice, "provider" | "model" | "baseUrl" | "timeoutMs">,
  env: NodeJS.ProcessEnv,
  options: ModelEndpointProbeOptions = {},
): Promise<ModelEndpointFinding> {
  const where = endpointOf(choice, env);
  const timeoutMs = Math.min(options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS, choice.timeoutMs || Infinity);
  const doFetch = options.fetch ?? fetch;
  const anthropic = choice.provider === ModelProvider.Anthropic;
  const scrub = (s: string | undefined) => (s && where.key && where.key.length >= 4 ? s.split(where.key).join("[redacted]") : s);
  const headers: Record<string, string> = { accept: "application/json" };
  if (anthropic) {
    headers["anthropic-version"] = ANTHROPIC_VERSION;
    if (where.key) headers["x-api-key"] = where.key;
  } else if (where.key) {
    headers.authorization = `Bearer ${where.key}`;
  }
  const root = anthropic ? `${where.baseUrl}/v1/models` : `${where.baseUrl}/models`;
  const base = {
    provider: choice.provider,
    model: choice.model,
    baseUrl: printableUrl(where.baseUrl),
    ...(where.baseUrlVar ? { baseUrlVar: where.baseUrlVar } : {}),
    keyVar: where.keyVar,
    keySent: where.key !== undefined,
  };
  const finding = (f: Omit<ModelEndpointFinding, keyof typeof base>): ModelEndpointFinding => ({ ...base, ...f, message: scrub(f.message) });

  const signal = AbortSignal.timeout(timeoutMs);
  const get = async (url: string): Promise<{ status: number; body: string; location?: string } | { error: string }> => {
    try {
      const res = await doFetch(url, { method: "GET", headers, signal, redirect: "manual" });
      const body = await res.text();
      return { status: res.status, body, ...(res.headers.get("location") ? { location: res.headers.get("location")! } : {}) };
    } catch (err) {
      return { error: unreachableReason(err, timeoutMs) };
    }
  };
  const verdictOf = (url: string, r: { status: number; body: string; location?: string }): ModelEndpointFinding => {
    const message = providerMessage(r.body);
    if (r.status === 401 || r.status === 403) return finding({ verdict: EndpointVerdict.Refused, url: printableUrl(url), status: r.status, ...(message ? { message } : {}) });
    if (r.status >= 300 && r.status < 400) {
      return finding({ verdict: EndpointVerdict.Unexpected, url: printableUrl(url), status: r.status, message: `redirects to ${r.location ? printableUrl(r.location) : "(no location)"}` });
    }
    return finding({ verdict: EndpointVerdict.Unexpected, url: printableUrl(url), status: r.status, ...(message ? { message } : {}) });
  };

  // 1. The model's own route.
  const modelUrl = `${root}/${segment(choice.model)}`;
  const one = await get(modelUrl);
  if ("error" in one) return finding({ verdict: EndpointVerdict.Unreachable, url: printableUrl(modelUrl), message: one.error });
  if (one.status >= 200 && one.status < 300) {
    // A server that answers every path with 200 (a web page, a catch-all) is not a models API.
    const id = (() => {
      try {
        return (JSON.parse(one.body) as { id?: unknown }).id;
      } catch {
        return undefined;
      }
    })();
    if (typeof id === "string") return finding({ verdict: EndpointVerdict.Found, url: printableUrl(modelUrl), status: one.status, via: "model" });
  } else if (![404, 405, 501].includes(one.status)) {
    return verdictOf(modelUrl, one);
  }

  // 2. No such model, or no per-model route: the list tells which.
  const listUrl = anthropic ? `${root}?limit=1000` : root;
  const all = await get(listUrl);
  const oneMessage = one.status >= 400 ? providerMessage(one.body) : undefined;
  if ("error" in all) {
    return one.status === 404
      ? finding({ verdict: EndpointVerdict.UnknownModel, url: printableUrl(modelUrl), status: 404, ...(oneMessage ? { message: oneMessage } : {}) })
      : finding({ verdict: EndpointVerdict.Unreachable, url: printableUrl(listUrl), message: all.error });
  }
  const ids = all.status >= 200 && all.status < 300 ? listedIds(all.body) : undefined;
  if (!ids) {
    const notARoute = (all.status >= 200 && all.status < 300) || [404, 405, 501].includes(all.status);
    if (!notARoute) return verdictOf(listUrl, all); // 401/403, 429, 5xx: the server's own words
    // Neither route is a models API: most often a base URL without its `/v1`.
    return finding({
      verdict: EndpointVerdict.Unexpected,
      url: printableUrl(listUrl),
      status: all.status,
      message: `neither GET ${printableUrl(modelUrl)} (${one.status}${oneMessage ? `: ${oneMessage}` : ""}) nor GET ${printableUrl(listUrl)} (${all.status}) answers as a models API`,
    });
  }
  const known = ids.some((id) => id === choice.model || (anthropic && id.startsWith(`${choice.model}-`)));
  if (known) return finding({ verdict: EndpointVerdict.Found, url: printableUrl(listUrl), status: all.status, via: "list" });
  return finding({
    verdict: EndpointVerdict.UnknownModel,
    url: printableUrl(one.status === 404 ? modelUrl : listUrl),
    status: one.status === 404 ? 404 : all.status,
    ...(oneMessage && one.status === 404 ? { message: oneMessage } : {}),
    offered: ids.slice(0, 8),
  });
}
