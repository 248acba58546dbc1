import type { JetStreamClient } from "@nats-io/jetstream";
import { publishAcked } from "../nats/index.ts";
import { formatAmount, parseAmount, type PaymentRecord, PaymentStatus, type PolicyDecision, type Wallet } from "../wallet/index.ts";
import type { Choir } from "./choir.ts";
import { ChoirError, ChoirErrorCode } from "./errors.ts";
import { citationRewardSubject, PERIOD_ID } from "./names.ts";
import type { CitationSignal, RewardSignal } from "./report.ts";

export interface RewardPeriod {
  /** Names the period in ids and dedup keys, e.g. "2026-06". */
  id: string;
  from: Date;
  /** Exclusive. */
  to: Date;
  /** Decimal string: the whole budget for the period. */
  budget: string;
  /** Default "XLM". */
  asset?: string;
}

export interface RewardComputation {
  period: string;
  /** Citations that count (self-citations excluded). */
  citations: number;
  /** Citation_Rate in asset units, as a decimal string (stroop precision, rounded down). */
  rate: string;
  rewards: RewardSignal[];
  /** What rounding down left of the budget. */
  unallocated: string;
}

/**
 * Citation_Rate = budget for the period / citations in the period; each cited author earns
 * rate × (citations of their reports). Self-citations are not counted: an author cannot mint
 * rewards by citing themselves. Exact integer stroops; the remainder stays unallocated.
 */
export function computeRewards(signals: readonly CitationSignal[], period: RewardPeriod): RewardComputation {
  if (!PERIOD_ID.test(period.id)) throw new ChoirError(ChoirErrorCode.InvalidPeriod, `period id must match ${PERIOD_ID}`);
  if (!(period.from.getTime() < period.to.getTime())) throw new ChoirError(ChoirErrorCode.InvalidPeriod, "period must end after it starts");
  let budget: bigint;
  try {
    budget = parseAmount(period.budget);
  } catch (cause) {
    throw new ChoirError(ChoirErrorCode.InvalidPeriod, `budget: ${(cause as Error).message}`, { cause });
  }
  const asset = period.asset ?? "XLM";
  const counted = signals.filter((s) => !s.selfCitation && Date.parse(s.at) >= period.from.getTime() && Date.parse(s.at) < period.to.getTime());
  // One reward per distinct (citing, cited) pair, however often the signal was delivered.
  const pairs = new Map<string, CitationSignal>();
  for (const s of counted) pairs.set(`${s.citing}>${s.cited}`, s);
  const total = BigInt(pairs.size);
  const byAuthor = new Map<string, number>();
  for (const s of pairs.values()) byAuthor.set(s.citedAuthor, (byAuthor.get(s.citedAuthor) ?? 0) + 1);
  const rate = total === 0n ? 0n : budget / total;
  const base = { period: period.id, rate: formatAmount(rate), asset, from: period.from.toISOString(), to: period.to.toISOString() };
  const rewards: RewardSignal[] = [...byAuthor.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([author, n]) => ({ ...base, author, citations: n, amount: formatAmount(rate * BigInt(n)) }))
    .filter((r) => r.amount !== "0");
  return { period: period.id, citations: Number(total), rate: base.rate, rewards, unallocated: formatAmount(budget - rate * total) };
}

export interface RewardPayment {
  author: string;
  amount: string;
  proposalId: string;
  decision: PolicyDecision;
  record: PaymentRecord;
}

/**
 * Computes the period's rewards, emits `citation.reward.<author>.<period>` for each (stored once
 * per period and author, at any age), and pays each through the wallet — the same default-deny policy as any
 * payment: an author who is not on the allowlist is not paid, amounts above the threshold wait
 * for the owner. Running it again for the same period pays nothing twice and signs payments the
 * owner has approved since.
 */
export async function distributeRewards(
  deps: { choir: Choir; wallet: Wallet; js: JetStreamClient },
  period: RewardPeriod,
): Promise<{ computation: RewardComputation; payments: RewardPayment[] }> {
  const computation = computeRewards(await deps.choir.citations(period.from, period.to), period);
  const payments: RewardPayment[] = [];
  for (const r of computation.rewards) {
    await publishAcked(deps.js, citationRewardSubject(r.author, r.period), new TextEncoder().encode(JSON.stringify(r)), {
      msgID: `reward:${r.period}:${r.author}`,
      ifAbsent: true,
    });
    const proposalId = `reward-${r.period}-${r.author}`;
    const { decision, record: proposed } = await deps.wallet.propose({
      id: proposalId,
      destination: r.author,
      asset: r.asset,
      amount: r.amount,
      reason: `Choir citation reward ${r.period}: ${r.citations} citation(s) × ${r.rate}`,
      requestedBy: "choir-rewards",
    });
    let record = proposed;
    if (record.status === PaymentStatus.Approved || record.status === PaymentStatus.Signing) record = await deps.wallet.execute(proposalId);
    payments.push({ author: r.author, amount: r.amount, proposalId, decision, record });
  }
  return { computation, payments };
}
