/** Reading `vibewriter worker --json` output in tests: one JSON line per request it settled. */
import type { CliChild } from "./child.ts";

export interface RunLine {
  workerId: string;
  threadId: string;
  outcome: string;
  status?: string;
  takenOver: boolean;
  deliveryCount: number;
  wallMs: number;
}

/** The worker's JSON lines so far. */
export const linesOf = (w: CliChild): RunLine[] =>
  w
    .stdout()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as RunLine);
