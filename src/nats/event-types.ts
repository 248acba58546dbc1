/**
 * The events Vibewriter publishes for a thread (dashboards, the CLI, audits), as a discriminated
 * union on `type`. Each type is one subject token: `vibewriter.events.<thread>.<type>`.
 *
 * Events are read by people and other processes: they carry no secrets. Payment events name the
 * public destination and amount only — there is no field for keys, seeds or signed envelopes, and
 * `EventLog.publish` refuses any event whose text looks like a Stellar secret seed.
 */
export const EventType = {
  RunStarted: "run_started",
  RunFinished: "run_finished",
  TodosChanged: "todos_changed",
  ToolCalled: "tool_called",
  ToolResult: "tool_result",
  FileWritten: "file_written",
  Citation: "citation",
  Payment: "payment",
  SubagentHandoff: "subagent_handoff",
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

export const RunStatus = {
  Succeeded: "succeeded",
  Failed: "failed",
  Interrupted: "interrupted",
  Cancelled: "cancelled",
} as const;
export type RunStatus = (typeof RunStatus)[keyof typeof RunStatus];

export const TodoStatus = { Pending: "pending", InProgress: "in_progress", Completed: "completed" } as const;
export type TodoStatus = (typeof TodoStatus)[keyof typeof TodoStatus];

export const PaymentStatus = {
  Requested: "requested",
  Approved: "approved",
  Denied: "denied",
  Submitted: "submitted",
  Settled: "settled",
  Failed: "failed",
} as const;
export type PaymentStatus = (typeof PaymentStatus)[keyof typeof PaymentStatus];

export interface RunStartedEvent {
  type: typeof EventType.RunStarted;
  runId: string;
  /** Short description of the request (not the full prompt). */
  summary?: string;
  model?: string;
}
export interface RunFinishedEvent {
  type: typeof EventType.RunFinished;
  runId: string;
  status: RunStatus;
  error?: string;
}
export interface TodosChangedEvent {
  type: typeof EventType.TodosChanged;
  todos: { content: string; status: TodoStatus }[];
}
export interface ToolCalledEvent {
  type: typeof EventType.ToolCalled;
  toolCallId: string;
  name: string;
  args: Record<string, unknown>;
  /** The subagent that made the call, if not the main agent. */
  subagent?: string;
}
export interface ToolResultEvent {
  type: typeof EventType.ToolResult;
  toolCallId: string;
  name: string;
  ok: boolean;
  summary?: string;
  durationMs?: number;
}
export interface FileWrittenEvent {
  type: typeof EventType.FileWritten;
  path: string;
  bytes: number;
  /** Object Store name when the file was saved as an artifact. */
  artifact?: string;
}
export interface CitationEvent {
  type: typeof EventType.Citation;
  url: string;
  title?: string;
  quote?: string;
  sourceId?: string;
}
export interface PaymentEvent {
  type: typeof EventType.Payment;
  paymentId: string;
  status: PaymentStatus;
  /** Decimal string, e.g. "2.5000000". */
  amount: string;
  /** Asset code, e.g. "XLM" or "USDC:G…issuer". */
  asset: string;
  /** Public account (G…) that receives the payment. */
  destination: string;
  memo?: string;
  /** Why the policy approved or denied it. */
  reason?: string;
  /** Ledger transaction hash once submitted. */
  txHash?: string;
}
export interface SubagentHandoffEvent {
  type: typeof EventType.SubagentHandoff;
  from: string;
  to: string;
  direction: "delegated" | "returned";
  task: string;
}

export type VibewriterEvent =
  | RunStartedEvent
  | RunFinishedEvent
  | TodosChangedEvent
  | ToolCalledEvent
  | ToolResultEvent
  | FileWrittenEvent
  | CitationEvent
  | PaymentEvent
  | SubagentHandoffEvent;

/** An event as stored: what was published plus where and when. */
export type StoredEvent = VibewriterEvent & {
  threadId: string;
  /** Publisher's clock, ISO 8601. */
  ts: string;
  /** Unique id (also the JetStream msgID, so a retried publish is stored once). */
  id: string;
  /** Stream sequence: total order of the event log. */
  seq: number;
};
