import { ToolMessage } from "@langchain/core/messages";
import { createMiddleware } from "langchain";

const WRITE_TOOLS = new Set(["write_file", "edit_file", "delete"]);

/**
 * A subagent's powers, enforced at call time (defence in depth: the subagent is also only bound
 * to these tools, but a model can name any tool). A call to a tool outside `allowedTools`, or a
 * write outside `writablePrefixes`, is refused with a message and never reaches the backend.
 */
export function createToolPolicyMiddleware(options: {
  agent: string;
  /** Every tool when omitted. */
  allowedTools?: readonly string[];
  /** Anywhere (the sandbox still confines) when omitted. */
  writablePrefixes?: readonly string[];
  /** Never writable, whatever else allows it (e.g. the skills folder). */
  readOnlyPrefixes?: readonly string[];
}) {
  const allowed = options.allowedTools ? new Set(options.allowedTools) : null;
  const prefixes = options.writablePrefixes;
  const readOnly = options.readOnlyPrefixes ?? [];
  return createMiddleware({
    name: "VibewriterToolPolicy",
    wrapToolCall: async (request, handler) => {
      const call = request.toolCall;
      const refuse = (why: string) =>
        new ToolMessage({ content: `Error: ${why}`, tool_call_id: call.id ?? "", name: call.name, status: "error" });
      if (allowed && !allowed.has(call.name)) {
        return refuse(`the ${options.agent} may not use the tool "${call.name}"; its tools are: ${[...allowed].join(", ")}`);
      }
      if (WRITE_TOOLS.has(call.name)) {
        const path = String((call.args as { file_path?: unknown; path?: unknown }).file_path ?? (call.args as { path?: unknown }).path ?? "");
        const normalised = path.replace(/\/+/g, "/");
        if (normalised.split("/").includes("..")) return refuse(`"${path}": paths with ".." are not accepted`);
        const hit = readOnly.find((p) => normalised.startsWith(p) || `${normalised}/` === p);
        if (hit) return refuse(`${hit} is read-only`);
        if (prefixes && !prefixes.some((p) => normalised.startsWith(p) || normalised === p)) {
          return refuse(
            prefixes.length === 0
              ? `the ${options.agent} may not write files`
              : `the ${options.agent} may write only under ${prefixes.join(", ")}; "${path}" is outside`,
          );
        }
      }
      return handler(request);
    },
  });
}
