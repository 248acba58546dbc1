/**
 * Is the guest agent still answering? One `hello` on the live channel, bounded by a timeout. A VM
 * whose QEMU is alive but whose agent is frozen (a runaway loop on its only thread, a stopped
 * process) answers nothing and closes nothing: only asking tells the host it is dead.
 */
import type { GuestClient } from "./guest-client.ts";
import { GuestError, GuestErrorCode } from "./guest-error.ts";

/** How often a busy sandbox asks, and how long an answer may take (defaults; see `ThreadSandbox`). */
export interface LivenessOptions {
  intervalMs: number;
  timeoutMs: number;
}

/**
 * A TCG guest answers a hello in milliseconds, but an op that keeps the agent's event loop busy
 * (a big grep before its budget cuts it) delays the answer by seconds: 20 s separates slow from dead.
 */
export const DEFAULT_LIVENESS: LivenessOptions = { intervalMs: 5_000, timeoutMs: 20_000 };

export type Liveness = "alive" | "unresponsive" | "gone";

/**
 * Sends one `hello` (it also sets the guest clock, harmlessly). `gone`: the channel failed for
 * another reason (the VM ended): nothing to decide. The timer races the request itself because a
 * request to a guest that stopped reading can wait forever for the channel to drain.
 */
export async function pingAgent(client: GuestClient, timeoutMs: number): Promise<Liveness> {
  if (client.isClosed || !client.hello) return "gone";
  const args = { nowMs: Date.now(), protocolVersion: client.hello.protocolVersion };
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Liveness>((resolve) => {
    timer = setTimeout(() => resolve("unresponsive"), timeoutMs);
  });
  const answer = client.request("hello", args as never, { timeoutMs }).then(
    (): Liveness => "alive",
    // An error frame is an answer too; only silence (our timeout) counts against the agent.
    (err): Liveness => (client.isClosed ? "gone" : GuestError.isInstance(err, GuestErrorCode.Timeout) ? "unresponsive" : "alive"),
  );
  try {
    return await Promise.race([answer, late]);
  } finally {
    clearTimeout(timer);
  }
}
