/**
 * `vibewriter events ID [--follow]`: a thread's event log from the beginning, then (with --follow)
 * live until Ctrl-C. Reads the events stream through an ordered consumer on the thread's subject.
 */
import { DeliverPolicy } from "@nats-io/jetstream";
import { eventSubject } from "../../agent/backbone.ts";
import type { VibewriterEvent } from "../../agent/events.ts";
import { Names } from "../../nats/index.ts";
import { openCliBackbone } from "../backbone.ts";
import type { CliContext } from "../context.ts";
import type { CommandPlan } from "../plan.ts";
import { formatEvent } from "../progress.ts";
import { notFoundOr } from "../not-found.ts";

export async function runEvents(plan: Extract<CommandPlan, { command: "events" }>, ctx: CliContext): Promise<number> {
  const backbone = await openCliBackbone(ctx);
  const subject = eventSubject(plan.threadId);
  const info = await backbone.jsm.streams.info(Names.eventsStream, { subjects_filter: subject });
  const stored = info.state.subjects?.[subject] ?? 0;
  if (stored === 0 && !plan.follow) {
    // No events: tell an unknown thread (no state either) apart from a thread that has not begun.
    const { showThread } = await import("../../agent/threads.ts"); // heavy: only on this path
    await showThread(backbone, plan.threadId).catch((e) => {
      throw notFoundOr(e);
    });
  }
  // --json prints one JSON object per line (a stream), so scripts can follow too.
  const print = (e: VibewriterEvent) => ctx.stdout.write((plan.json ? JSON.stringify(e) : formatEvent(e)) + "\n");

  const consumer = await backbone.js.consumers.get(Names.eventsStream, {
    filter_subjects: subject,
    deliver_policy: DeliverPolicy.All,
  });
  if (!plan.follow) {
    let seen = 0;
    while (seen < stored) {
      const batch = await consumer.fetch({ max_messages: Math.min(500, stored - seen), expires: 5_000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        seen++;
        print(m.json<VibewriterEvent>());
        if (seen >= stored) break;
      }
      if (got === 0) break;
    }
    return 0;
  }

  const messages = await consumer.consume();
  const stop = () => void messages.stop();
  ctx.signal.addEventListener("abort", stop, { once: true });
  try {
    for await (const m of messages) print(m.json<VibewriterEvent>());
  } finally {
    ctx.signal.removeEventListener("abort", stop);
  }
  // Following ends only by Ctrl-C: that is the normal way out, not an error.
  return 0;
}
