/**
 * The audit ledger as the console shows it: its verification (the same walk as `vibewriter ledger
 * verify`, with the same trusted keys and anchor) and its newest entries as one-line summaries of
 * public facts (amounts, decisions, hashes), never the entries' raw data.
 */
import { loadTrust, viewerLedger } from "../app/index.ts";
import type { Backbone } from "../nats/index.ts";
import { AuditLedger, type LedgerEntry } from "../wallet/index.ts";
import type { LedgerView } from "./api-types.ts";

const MAX_ENTRIES = 200;

const field = (d: LedgerEntry["data"], k: string): string | undefined => {
  const v = d?.[k];
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? String(v).slice(0, 120) : undefined;
};

function summaryOf(e: LedgerEntry): string {
  const d = e.data ?? {};
  const parts = [`${e.type} ${e.proposalId}`];
  const amount = field(d, "amount");
  const asset = field(d, "asset");
  if (amount) parts.push(`${amount}${asset ? ` ${asset}` : ""}`);
  const destination = field(d, "destination");
  if (destination) parts.push(`to ${destination}`);
  for (const k of ["outcome", "rule", "by", "note", "reason", "txHash", "error"]) {
    const v = field(d, k);
    if (v) parts.push(`${k}: ${v}`);
  }
  return parts.join(", ");
}

export async function ledgerView(backbone: Backbone, env: NodeJS.ProcessEnv): Promise<LedgerView> {
  const ledger = await AuditLedger.open(backbone, viewerLedger(env, await loadTrust(env)));
  const verification = await ledger.verify();
  const all: LedgerView["entries"] = [];
  for await (const m of ledger.messages()) {
    if (m.entry) all.push({ seq: m.seq, at: String(m.entry.at), kind: String(m.entry.type), summary: summaryOf(m.entry), ...(m.entry.by ? { signedBy: m.entry.by } : {}) });
  }
  const first = verification.problems[0];
  return {
    verification: {
      ok: verification.ok,
      entries: verification.entries,
      ...(first ? { problem: `${verification.problems.length} problem(s); seq ${first.seq}: ${first.kind}: ${first.detail}` } : {}),
    },
    entries: all.reverse().slice(0, MAX_ENTRIES),
    truncated: all.length > MAX_ENTRIES,
  };
}
