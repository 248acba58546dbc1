/**
 * Child runs (the `delegate` tool): the child's thread id, the record that makes a replayed call
 * find the child it already submitted, the child's share of the parent's sources, and the child's
 * outcome as its event log tells it.
 */
import { createHash } from "node:crypto";
import type { BaseStore } from "@langchain/langgraph-checkpoint";
import { checkCitations } from "./citations.ts";
import { EventType, RunStatus, type VibewriterEvent } from "../nats/index.ts";
import type { AgentBackbone, ArtifactPort } from "./ports.ts";
import { readSourceManifest, SOURCE_PATHS, type Source } from "./sources.ts";
import { ThreadSources } from "./thread-sources.ts";
import { REPORT_ARTIFACT } from "./tools/publish.ts";

const RECORDS = ["vibewriter", "child-runs"];

/**
 * The child's thread id from (parent thread, tool call): a replayed call names the same child.
 * Valid for the thread-id rule (the parent's id is, and 44 + 3 + 12 ≤ 64 characters).
 */
export function childThreadId(parentThreadId: string, toolCallId: string): string {
  const h = createHash("sha256").update(`${parentThreadId}\u0000${toolCallId}`).digest("hex").slice(0, 12);
  return `${parentThreadId.slice(0, 44)}-d-${h}`;
}

/** What the parent decided for its child, stored before the child is queued (never changed after). */
export interface ChildRecord {
  child: string;
  parent: string;
  question: string;
  sources: "parent" | "none";
  maxModelCalls: number;
  maxTokens: number;
  allowNetwork: boolean;
  submittedAt: string;
}

export async function readChildRecord(store: BaseStore, child: string): Promise<ChildRecord | undefined> {
  const v = (await store.get(RECORDS, child))?.value as Partial<ChildRecord> | undefined;
  return v && typeof v.parent === "string" && typeof v.question === "string" ? (v as ChildRecord) : undefined;
}

export async function writeChildRecord(store: BaseStore, r: ChildRecord): Promise<void> {
  await store.put(RECORDS, r.child, { ...r });
}

/**
 * The child gets the parent's sources by reference: sources are content-addressed artifacts
 * (`sources/<id>`), so the child's manifest listing the same ids is the whole copy.
 */
export async function shareSources(artifacts: ArtifactPort, parent: string, child: string): Promise<number> {
  const infos = await readSourceManifest(artifacts, parent);
  await artifacts.put(SOURCE_PATHS.threadManifest(child), new TextEncoder().encode(JSON.stringify(infos, null, 2)));
  return infos.length;
}

export type ChildOutcome =
  /** Queued or running (no end on its log yet). */
  | { state: "running" }
  /** Paused for its owner (a payment, its budget): it goes on after the owner's decision. */
  | { state: "waiting" }
  /** `cited`: the child's sources its report cites (each verified), to carry into the parent. */
  | { state: "reported"; status: string; report: string; cited: Source[] }
  | { state: "failed"; status: string; reason: string };

const firstLine = (s: string) => (s.split("\n").find((l) => l.trim() !== "") ?? "unknown error").trim().slice(0, 300);

/** The child's end as its own log says (the last run.* event wins), with its report re-verified on the host. */
export async function childOutcome(backbone: AgentBackbone, child: string): Promise<ChildOutcome> {
  const events = (await backbone.events.history(child, { types: [EventType.RunStarted, EventType.RunFinished, EventType.RunFailed] })) as VibewriterEvent[];
  const last = events.at(-1);
  if (!last || last.type === EventType.RunStarted) return { state: "running" };
  if (last.type === EventType.RunFailed) return { state: "failed", status: "failed", reason: firstLine(last.data.message) };
  if (last.type !== EventType.RunFinished) return { state: "running" };
  const status = last.data.status;
  if (status === RunStatus.Interrupted) return { state: "waiting" };
  const raw = await backbone.blobs.get(REPORT_ARTIFACT(child));
  if (!raw) return { state: "failed", status, reason: last.data.reason ?? "it ended without publishing a report" };
  const report = new TextDecoder().decode(raw);
  // Published reports were verified when published; check again against the child's stored sources.
  const sources = await ThreadSources.load(backbone.blobs, child);
  const check = checkCitations(report, sources.texts);
  if (!check.ok) return { state: "failed", status, reason: `its report's citations do not verify: ${check.problems[0]?.message ?? "no citations"}` };
  const cited = sources.infos.filter((i) => check.verifiedSources.includes(i.id)).map((i) => ({ ...i, text: sources.texts.get(i.id)! }));
  return { state: "reported", status, report, cited };
}
