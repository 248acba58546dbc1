/**
 * Payments: one card per proposal (used by `#/payments` and a thread's view) with the owner's
 * decision: Approve / Reject (with an optional reason), each confirmed before it is sent, the
 * result shown in the card. The page only asks; the console process signs with the owner's key.
 * Without the unlocked key (canDecide false) or as a viewer, no buttons: the hint says why.
 */
export const PAYMENTS_JS = String.raw`
const PENDING = "pending_approval";

function canDecide() {
  return !!state.session && state.session.role === "owner" && state.session.canDecide;
}

function decisionHint() {
  if (!state.session || state.session.role !== "owner") return "You are signed in as a viewer: only the owner decides payments.";
  return state.session.decideHint || "The owner's key is not unlocked in this console: decisions are disabled.";
}

function paymentCard(p, reload) {
  const hid = "pay-" + p.id.replace(/[^A-Za-z0-9_-]/g, "_");
  const card = el("article", { class: "card payment", "data-payment": p.id, "data-status": p.status, "aria-labelledby": hid + "-h" });
  const rerender = (focusSelector) => {
    const next = paymentCard(p, reload);
    card.replaceWith(next);
    if (focusSelector) { const f = next.querySelector(focusSelector); if (f) f.focus(); }
  };
  append(card, [
    el("h3", { id: hid + "-h" }, p.amount + " " + p.asset + " to " + shortKey(p.destination), " ", badge(p.status)),
    el("dl", { class: "kv" },
      el("dt", {}, "Status"), el("dd", { "data-field": "status" }, p.status.replace(/_/g, " ")),
      p.threadId ? [el("dt", {}, "Thread"), el("dd", {}, el("a", { href: threadHref(p.threadId) }, p.threadId))] : null,
      el("dt", {}, "Destination"), el("dd", { class: "mono" }, p.destination),
      p.memo ? [el("dt", {}, "Memo"), el("dd", {}, p.memo)] : null,
      p.purpose ? [el("dt", {}, "Purpose"), el("dd", {}, p.purpose)] : null,
      p.reason ? [el("dt", {}, p.status === PENDING ? "Why it needs you" : "Policy"), el("dd", { "data-field": "reason" }, p.reason)] : null,
      p.requestedAt ? [el("dt", {}, "Requested"), el("dd", {}, timeEl(p.requestedAt))] : null,
      p.decidedBy ? [el("dt", {}, "Decided by"), el("dd", { class: "mono", "data-field": "decidedBy" }, p.decidedBy)] : null,
      p.decidedAt ? [el("dt", {}, "Decided"), el("dd", {}, timeEl(p.decidedAt))] : null,
      p.txHash ? [el("dt", {}, "Transaction"), el("dd", { class: "mono" }, p.txHash)] : null,
      el("dt", {}, "Payment id"), el("dd", { class: "mono" }, p.id),
    ),
  ]);
  if (p.status === PENDING) card.append(decisionControls(p, rerender, reload));
  const result = state.ui.results.get(p.id);
  if (result) {
    card.append(el("p", { class: "result " + (result.ok ? "fine" : "problem"), role: result.ok ? "status" : "alert", tabindex: "-1", "data-result": "" }, result.text));
  }
  return card;
}

function decisionControls(p, rerender, reload) {
  if (!canDecide()) return el("p", { class: "notice", "data-hint": "" }, decisionHint());
  const box = el("div", { class: "actions" });
  const confirming = state.ui.confirming && state.ui.confirming.id === p.id ? state.ui.confirming.action : null;
  if (!confirming) {
    const inputId = "reason-" + p.id.replace(/[^A-Za-z0-9_-]/g, "_");
    const input = el("input", { type: "text", id: inputId, name: "reason", autocomplete: "off", maxlength: "500" });
    input.value = state.ui.rejectReasons.get(p.id) || "";
    input.addEventListener("input", () => state.ui.rejectReasons.set(p.id, input.value));
    append(box, [
      el("div", { class: "field" }, el("label", { for: inputId }, "Reason, if you reject (optional)"), input),
      el("button", { type: "button", class: "primary", "data-action": "approve", onclick: () => { state.ui.confirming = { id: p.id, action: "approve" }; rerender("[data-confirm]"); } }, "Approve"),
      el("button", { type: "button", class: "danger", "data-action": "reject", onclick: () => { state.ui.confirming = { id: p.id, action: "reject" }; rerender("[data-confirm]"); } }, "Reject"),
    ]);
    return box;
  }
  const reason = (state.ui.rejectReasons.get(p.id) || "").trim();
  const question = confirming === "approve"
    ? "Approve paying " + p.amount + " " + p.asset + " to " + p.destination + "? Your key signs this decision."
    : "Reject this payment of " + p.amount + " " + p.asset + (reason ? " (reason: " + reason + ")" : "") + "?";
  const cancel = () => { state.ui.confirming = null; rerender("[data-action='" + confirming + "']"); };
  const confirm = el("button", { type: "button", class: confirming === "approve" ? "primary" : "danger", "data-confirm": confirming }, confirming === "approve" ? "Yes, approve" : "Yes, reject");
  const cancelButton = el("button", { type: "button", onclick: cancel }, "Cancel");
  confirm.addEventListener("click", async () => {
    confirm.disabled = true;
    cancelButton.disabled = true;
    confirm.textContent = confirming === "approve" ? "Approving…" : "Rejecting…";
    try {
      const body = confirming === "reject" && reason ? { reason } : {};
      const r = await post("/api/payments/" + encodeURIComponent(p.id) + "/" + confirming, body);
      const next = r.requeued ? " The thread is queued to continue." : r.threadId ? " The thread continues when it is resumed (vibewriter resume " + r.threadId + ")." : "";
      state.ui.results.set(p.id, { ok: true, text: (confirming === "approve" ? "Approved" : "Rejected") + ": payment " + p.id + " is now " + String(r.status).replace(/_/g, " ") + "." + next });
      state.ui.rejectReasons.delete(p.id);
    } catch (e) {
      state.ui.results.set(p.id, { ok: false, text: "Not " + (confirming === "approve" ? "approved" : "rejected") + ": " + e.message });
    }
    state.ui.confirming = null;
    announce(state.ui.results.get(p.id).text);
    await reload();
    const card = document.querySelector("[data-payment='" + CSS.escape(p.id) + "'] [data-result]");
    if (card) card.focus();
  });
  append(box, [el("p", { class: "notice", "data-question": "" }, question), confirm, cancelButton]);
  box.addEventListener("keydown", (e) => { if (e.key === "Escape") cancel(); });
  return box;
}

views.payments = async (route, ctx) => {
  const pendingList = el("div", { class: "cards", id: "pending-payments" });
  const decidedList = el("div", { class: "cards", id: "decided-payments" });
  const hint = canDecide() ? null : el("p", { class: "notice", "data-hint": "" }, decisionHint());
  let first = true;
  const load = coalesce(async () => {
    const { payments } = await api("/api/payments?status=all");
    if (ctx.stale()) return;
    const byTime = (a, b) => String(b.requestedAt || "").localeCompare(String(a.requestedAt || ""));
    const pending = payments.filter((p) => p.status === PENDING).sort(byTime);
    const decided = payments.filter((p) => p.status !== PENDING).sort(byTime);
    // A card being confirmed keeps its place: rebuilding it would move focus away mid-decision.
    const busy = state.ui.confirming && document.querySelector("[data-payment='" + CSS.escape(state.ui.confirming.id) + "'] [data-confirm]:disabled");
    if (busy) return;
    pendingList.replaceChildren(...(pending.length ? pending.map((p) => paymentCard(p, load)) : [el("p", { class: "muted" }, "Nothing waits for your approval.")]));
    decidedList.replaceChildren(...(decided.length ? decided.map((p) => paymentCard(p, load)) : [el("p", { class: "muted" }, "No payments decided yet.")]));
    if (first) {
      first = false;
      frame("Payments",
        hint,
        el("section", { "aria-labelledby": "pending-h" }, el("h2", { id: "pending-h" }, "Waiting for your approval"), pendingList),
        el("section", { "aria-labelledby": "decided-h" }, el("h2", { id: "decided-h" }, "Decided and in progress"), decidedList));
    }
  });
  await load();
  onLive((e) => { if (e.type === "payment") load(); });
};
`;
