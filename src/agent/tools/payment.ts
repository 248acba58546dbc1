import { createHash } from "node:crypto";
import { tool, type ToolRuntime } from "@langchain/core/tools";
import { interrupt, isGraphBubbleUp } from "@langchain/langgraph";
import { z } from "zod";
import { type PaymentRecord, PaymentStatus, type Wallet, WalletError, WalletErrorCode } from "../../wallet/index.ts";
import { EventType } from "../../nats/index.ts";
import type { EmitEvent } from "../events.ts";

/** What the run pauses with when a payment needs the owner. Public data only. */
export interface PaymentApprovalRequest {
  kind: "payment_approval";
  proposalId: string;
  destination: string;
  asset: string;
  amount: string;
  memo: string | null;
  reason: string;
  /** The commands the owner runs; the resume value itself is ignored. */
  approve: string;
  reject: string;
}

export interface PaymentToolOptions {
  wallet: Wallet;
  /** The thread the tool runs in (part of every proposal id). Default: the run's `thread_id`. */
  threadId?: string;
  /** How many times the tool re-pauses when resumed without an owner decision on record. */
  maxWaits?: number;
  /** Publishes a `payment` event to the thread's log at each status the call sees (public fields only). */
  emit?: EmitEvent;
}

/** One `payment` event per (tool call, status): a replayed call republishes the same ids, which the log drops. */
async function emitPayment(emit: EmitEvent | undefined, toolCallId: string, r: PaymentRecord): Promise<void> {
  if (!emit) return;
  await emit({
    id: `main:${toolCallId}:payment:${r.status}`,
    type: EventType.Payment,
    agent: "main",
    data: {
      paymentId: r.id,
      status: r.status,
      amount: r.amount ?? r.requested.amount,
      asset: r.asset ?? r.requested.asset,
      destination: r.destination ?? r.requested.destination,
      ...(r.memo ? { memo: r.memo } : {}),
      ...(r.refusal ? { reason: `refused, nothing signed: ${r.refusal.reason}` } : r.decision?.reason ? { reason: r.decision.reason } : {}),
      ...(r.txHash ? { txHash: r.txHash } : {}),
    },
  });
}

/** A proposal id is a function of (thread, tool call): re-running the same call after a resume or a crash finds the same proposal. */
export function paymentProposalId(threadId: string, toolCallId: string): string {
  return `pay-${createHash("sha256").update(`${threadId}\u0000${toolCallId}`).digest("hex").slice(0, 32)}`;
}

/**
 * `propose_payment`: the agent's only way to move money. Goes through the wallet's policy; a
 * payment above the approval threshold pauses the run (LangGraph `interrupt`, saved in the
 * checkpoint) until the owner runs `vibewriter approve|reject ID`. On resume the tool trusts only
 * the decision recorded in NATS by that command — never the resume value or anything the model
 * wrote. Results carry public facts only (ids, amounts, rules, transaction hashes).
 */
export function createProposePaymentTool(options: PaymentToolOptions) {
  const { wallet } = options;
  const maxWaits = options.maxWaits ?? 20;
  return tool(
    async (input, runtime: ToolRuntime) => {
      const threadId = options.threadId ?? String((runtime.configurable as { thread_id?: unknown } | undefined)?.thread_id ?? "");
      const toolCallId = runtime.toolCallId ?? runtime.toolCall?.id;
      if (!threadId || !toolCallId) return "Error: propose_payment needs a thread id and a tool call id; no payment was proposed.";
      const id = paymentProposalId(threadId, toolCallId);
      try {
        const res = await wallet.propose({
          id,
          destination: input.destination,
          asset: input.asset,
          amount: input.amount,
          memo: input.memo,
          reason: input.reason,
          requestedBy: threadId,
        });
        if (res.replay === "conflict") return `DENIED (${res.decision.outcome === "deny" ? res.decision.rule : "replay"}): proposal ${id} already exists with different contents.`;
        const terminal: readonly string[] = [PaymentStatus.Denied, PaymentStatus.Rejected, PaymentStatus.Signed, PaymentStatus.Submitted, PaymentStatus.SubmitFailed];
        // A tool call replayed with the same id. (A run resumed after the owner's decision also
        // re-runs the call: that is reported plainly, as the outcome of the wait.)
        if (res.replay === "identical" && terminal.includes(res.record.status) && !res.record.ownerDecision) {
          return `ALREADY DECIDED: this exact proposal was made before; nothing new was done. ${describe(res.record)}`;
        }
        let record = res.record;
        await emitPayment(options.emit, toolCallId, record);
        for (let waits = 0; record.status === PaymentStatus.PendingApproval && waits < maxWaits; waits++) {
          const request: PaymentApprovalRequest = {
            kind: "payment_approval",
            proposalId: id,
            destination: record.destination!,
            asset: record.asset!,
            amount: record.amount!,
            memo: record.memo ?? null,
            reason: record.decision?.reason ?? "above the approval threshold",
            approve: `vibewriter approve ${id}`,
            reject: `vibewriter reject ${id}`,
          };
          // Returns only after a resume; whatever value was sent is deliberately ignored.
          interrupt(request);
          record = (await wallet.get(id)) ?? record;
        }
        if (record.status === PaymentStatus.Approved || record.status === PaymentStatus.Signing) {
          await emitPayment(options.emit, toolCallId, record);
          record = await wallet.execute(id);
        }
        await emitPayment(options.emit, toolCallId, record);
        return describe(record);
      } catch (e) {
        // The interrupt (and any other graph control flow) must propagate to pause the run.
        if (isGraphBubbleUp(e)) throw e;
        if (WalletError.isInstance(e)) {
          // A refused signing is news for the owner too: the record says why, and so does the log.
          if (e.code === WalletErrorCode.Tamper) {
            const refused = await wallet.get(id).catch(() => undefined);
            if (refused) await emitPayment(options.emit, toolCallId, refused).catch(() => {});
          }
          return `Error (${e.code}): ${e.message}`;
        }
        throw e;
      }
    },
    {
      name: "propose_payment",
      description:
        "Propose a payment from the owner's Stellar wallet. The owner's spending policy decides: small payments to allowlisted " +
        "destinations are signed at once, larger ones wait for the owner's approval (the run pauses), anything else is denied " +
        "with the rule that denied it. Every attempt is recorded in the audit ledger. You never see or need any key. " +
        "Amounts are decimal strings like \"12.5\"; the asset is \"XLM\" or \"CODE:ISSUER\".",
      schema: z.object({
        destination: z.string().describe("Stellar account id (G...), exactly as given by the owner"),
        // Numbers are accepted here so that they reach the wallet, are refused there and are recorded.
        amount: z.union([z.string(), z.number()]).describe('Decimal string, e.g. "12.5"'),
        asset: z.string().default("XLM").describe('"XLM" or "CODE:ISSUER"'),
        memo: z.string().optional().describe("Optional text memo (at most 28 bytes). It is not an instruction to anyone."),
        reason: z.string().describe("Why this payment is due (recorded in the ledger)"),
      }),
    },
  );
}

function describe(r: PaymentRecord): string {
  const what = `${r.amount ?? r.requested.amount} ${r.asset ?? r.requested.asset} to ${r.destination ?? r.requested.destination}`;
  switch (r.status) {
    case PaymentStatus.Denied:
      return `DENIED (${r.decision?.rule}): ${r.decision?.reason}. Payment ${r.id} (${what}) will not be made.`;
    case PaymentStatus.Rejected:
      return `REJECTED by the owner: payment ${r.id} (${what}) will not be made.`;
    case PaymentStatus.PendingApproval:
      return `PENDING: payment ${r.id} (${what}) is still waiting for the owner's approval.`;
    case PaymentStatus.Signed:
      return `SIGNED: payment ${r.id} (${what}), transaction ${r.txHash}. Not submitted (no Horizon URL configured).`;
    case PaymentStatus.Submitted:
      return `SUBMITTED: payment ${r.id} (${what}), transaction ${r.txHash}, ledger ${r.submission?.ledger}.`;
    case PaymentStatus.SubmitFailed:
      return `SIGNED but submission failed: payment ${r.id} (${what}), transaction ${r.txHash}: ${r.submission?.error}.`;
    default:
      return `Payment ${r.id} (${what}) is ${r.status}.`;
  }
}
