/** The threads view (`#/`): every thread with status, task, cost so far and waiting approvals; live. */
export const THREADS_JS = String.raw`
function costText(cost, usage) {
  const c = cost || {};
  const calls = c.modelCalls !== undefined ? c.modelCalls : (usage && usage.calls) || 0;
  const tokens = (c.inputTokens || 0) + (c.outputTokens || 0);
  const parts = [calls + " model call" + (calls === 1 ? "" : "s"), tokens.toLocaleString() + " tokens"];
  for (const p of c.paid || []) parts.push(p.amount + " " + p.asset + " paid");
  return parts.join(" · ");
}

function threadCard(t) {
  const waiting = t.waitingApprovals || 0;
  return el("li", { class: "card", "data-thread": t.threadId },
    el("h3", {}, el("a", { href: threadHref(t.threadId) }, t.task || t.threadId)),
    el("ul", { class: "meta" },
      el("li", {}, badge(t.status)),
      el("li", { class: "mono" }, t.threadId),
      el("li", { "data-cost": "" }, costText(t.cost, t.usage)),
      waiting ? el("li", {}, el("a", { href: "#/payments", class: "waiting" }, waiting + " payment" + (waiting === 1 ? "" : "s") + " waiting for approval")) : null,
      t.updatedAt ? el("li", {}, "updated ", timeEl(t.updatedAt)) : null,
    ),
    t.reason ? el("p", { class: "muted" }, t.reason) : null,
  );
}

views.threads = async (route, ctx) => {
  const list = el("ul", { class: "cards", id: "threads" });
  const seen = new Map(); // threadId → status: changes are announced, not the whole list again
  const summary = el("p", { class: "muted" });
  let first = true;
  const load = coalesce(async () => {
    const { threads } = await api("/api/threads");
    if (ctx.stale()) return;
    summary.textContent = threads.length === 0
      ? "No threads yet. Start one with vibewriter run, submit or demo."
      : threads.length + " thread" + (threads.length === 1 ? "" : "s") + ", newest first.";
    const sorted = threads.slice().sort((a, b) => String(b.updatedAt || b.startedAt || "").localeCompare(String(a.updatedAt || a.startedAt || "")));
    list.replaceChildren(...sorted.map(threadCard));
    const changes = [];
    for (const t of sorted) {
      if (!first && seen.get(t.threadId) !== t.status) changes.push((t.task || t.threadId) + ": " + t.status);
      seen.set(t.threadId, t.status);
    }
    if (changes.length) announce(changes.join("; "));
    if (first) { first = false; frame("Threads", summary, list); }
  });
  await load();
  onLive(() => load());
};
`;
