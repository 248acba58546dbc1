/**
 * The console's JSON shapes (the contract the page is written against; see `routes.ts` for the
 * paths). Wire types only: built by the view modules from the thread's events, the wallet and the
 * ledger. Nothing here ever holds a secret.
 */
import type { ThreadDetails, ThreadSummary } from "../agent/index.ts";

export interface SessionView {
  role: "owner" | "viewer";
  /** Send back as `X-CSRF-Token` on every POST. */
  csrf: string;
  /** This session may approve or reject payments: an owner session in a console holding the owner's key. */
  canDecide: boolean;
  /** Why not, and how to change it. */
  decideHint?: string;
}

export interface ThreadCost {
  modelCalls: number;
  inputTokens: number;
  outputTokens: number;
  /** Money that left the wallet for this thread (submitted payments), per asset. */
  paid: { asset: string; amount: string }[];
}

export interface ConsoleThreadRow extends ThreadSummary {
  cost: ThreadCost;
  /** This thread's payments waiting for the owner. */
  waitingApprovals: number;
}

export type NodeStatus = "running" | "ok" | "error";

export interface ToolCallView {
  callId: string;
  tool: string;
  /** The call's arguments as clipped JSON. */
  args?: string;
  status: NodeStatus;
  /** Its result, clipped. */
  output?: string;
}

export interface AgentNode {
  /** `main` or the subagent's type. */
  name: string;
  /** The `task` call that started this subagent (absent for main). */
  callId?: string;
  status: NodeStatus;
  description?: string;
  tools: ToolCallView[];
  children: AgentNode[];
}

export interface ArtifactView {
  /** Relative to the thread: `workspace/<path>` for a file of /workspace, `report.md` for the published report. `GET /api/threads/:id/files/<path>` serves it. */
  path: string;
  bytes?: number;
  /** The Object Store name. */
  artifact?: string;
}

export interface ConsolePayment {
  id: string;
  threadId?: string;
  status: string;
  amount: string;
  asset: string;
  destination: string;
  memo?: string;
  /** The policy's reason (why approval is needed, or why it was denied). */
  reason?: string;
  /** What the agent said the payment is for. */
  purpose?: string;
  requestedAt?: string;
  decidedBy?: string;
  decidedAt?: string;
  txHash?: string;
}

export interface ConsoleThread extends ThreadDetails {
  agents: AgentNode[];
  artifacts: ArtifactView[];
  payments: ConsolePayment[];
  hasReport: boolean;
}

export interface LedgerView {
  verification: { ok: boolean; entries: number; problem?: string };
  /** Newest first, at most 200. */
  entries: { seq: number; at: string; kind: string; summary: string; signedBy?: string }[];
  truncated: boolean;
}

export interface FleetViewJson {
  pool?: { ready: number; starting: number; max?: number };
  workers: { id: string; host: string; runsInFlight: number; concurrency: number; takeovers: number }[];
  queueDepth?: number;
}
