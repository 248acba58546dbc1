/**
 * `vibewriter events ID [--follow]`: a thread's event log from the beginning, then (with --follow)
 * live until Ctrl-C. Reads through the backbone's `EventLog` (one ordered consumer on the thread).
 * Without --follow or --json the listing ends with one line: the thread's model calls, time with
 * the model and tokens.
 */
import type { StoredEvent } from "../../nats/index.ts";
import { openCliBackbone } from "../backbone.ts";
import type { CliContext } from "../context.ts";
import type { CommandPlan } from "../plan.ts";
import { formatCallTotal, formatEvent, sumModelCalls } from "../progress.ts";
import { notFoundOr } from "../not-found.ts";

export async function runEvents(plan: Extract<CommandPlan, { command: "events" }>, ctx: CliContext): Promise<number> {
  const backbone = await openCliBackbone(ctx);
  // --json prints one JSON object per line (a stream), so scripts can follow too.
  const print = (e: StoredEvent) => ctx.stdout.write((plan.json ? JSON.stringify(e) : formatEvent(e)) + "\n");

  if (!plan.follow) {
    const history = await backbone.events.history(plan.threadId);
    if (history.length === 0) {
      // No events: tell an unknown thread (no state either) apart from a thread that has not begun.
      const { showThread } = await import("../../agent/threads.ts"); // heavy: only on this path
      await showThread(backbone, plan.threadId).catch((e) => {
        throw notFoundOr(e);
      });
    }
    for (const e of history) print(e);
    if (!plan.json && history.some((e) => e.type === "model.call")) ctx.stdout.write(formatCallTotal(sumModelCalls(history)) + "\n");
    return 0;
  }

  const sub = backbone.events.subscribe(plan.threadId, { from: "beginning" });
  const stop = () => sub.stop();
  ctx.signal.addEventListener("abort", stop, { once: true });
  try {
    for await (const e of sub) print(e);
  } finally {
    ctx.signal.removeEventListener("abort", stop);
  }
  // Following ends only by Ctrl-C: that is the normal way out, not an error.
  return 0;
}
