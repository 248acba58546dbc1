import type { CheckpointPendingWrite } from "@langchain/langgraph-checkpoint";

/** Writes that say what happened to a task rather than what it produced (LangGraph's `isTaskOutput`). */
const CONTROL_CHANNELS = new Set(["__error__", "__error_source_node__", "__interrupt__", "__resume__"]);

/**
 * The interrupts a checkpoint still waits on: those of tasks with no output yet, each once. A step
 * resumed in part (one of two parallel tool calls answered) keeps the answered task's old
 * interrupt beside its output, and its other task's `__resume__` write hides that task from
 * LangGraph's `next`: only this rule tells a paused thread from a finished one.
 */
export function pendingInterrupts(writes: readonly CheckpointPendingWrite[] | undefined): unknown[] {
  const all = writes ?? [];
  const done = new Set(all.filter(([, channel]) => !CONTROL_CHANNELS.has(channel)).map(([task]) => task));
  const seen = new Set<string>();
  const out: unknown[] = [];
  for (const [task, channel, value] of all) {
    if (channel !== "__interrupt__" || done.has(task)) continue;
    for (const i of Array.isArray(value) ? value : [value]) {
      const id = (i as { id?: unknown } | null)?.id;
      if (typeof id === "string") {
        if (seen.has(id)) continue;
        seen.add(id);
      }
      out.push(i);
    }
  }
  return out;
}
