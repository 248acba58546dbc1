/** `cancel`: abort another running request (an exec is killed with its process group). */
import { int } from "../args.ts";
import type { AgentContext } from "../context.ts";
import type { RequestContext } from "../handlers.ts";

export async function handleCancel(_ctx: AgentContext, req: RequestContext): Promise<Record<string, never>> {
  // Cancelling a request that already finished is not an error: the two raced.
  req.cancel(int(req.args, "target", 1));
  return {};
}
