/** `cancel`: abort another running request (an exec is killed with its process group). */
import type { AgentContext } from "../context.ts";
import type { OpRequest } from "../request-context.ts";

export async function handleCancel(_ctx: AgentContext, req: OpRequest<"cancel">): Promise<Record<string, never>> {
  // Cancelling a request that already finished is not an error: the two raced.
  req.cancel(req.args.target);
  return {};
}
