/** An unknown thread is the user's "not found", with the way to list threads; anything else stays as is. */
import { AgentError, AgentErrorCode } from "../agent/index.ts";
import { CliError, CliErrorCode } from "./errors.ts";

export function notFoundOr(e: unknown): unknown {
  if (AgentError.isInstance(e, AgentErrorCode.UnknownThread)) {
    return new CliError(CliErrorCode.NotFound, e.message, { cause: e, fix: "List threads with `vibewriter threads`." });
  }
  return e;
}
