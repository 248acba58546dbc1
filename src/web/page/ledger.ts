/** The audit ledger (`#/ledger`): its verification (the hash chain and signatures) and its entries. */
export const LEDGER_JS = String.raw`
views.ledger = async (route, ctx) => {
  const status = el("div", { id: "ledger-verification" });
  const table = el("tbody");
  const note = el("p", { class: "muted" });
  let first = true;
  const load = coalesce(async () => {
    const r = await api("/api/ledger");
    if (ctx.stale()) return;
    const v = r.verification || {};
    status.replaceChildren(v.ok
      ? el("p", { class: "fine", "data-ok": "true" }, "Verified: " + v.entries + " entr" + (v.entries === 1 ? "y" : "ies") + ", every hash and signature checks.")
      : el("p", { class: "problem", role: "alert", "data-ok": "false" }, "Verification FAILED: " + (v.problem || "unknown problem")));
    table.replaceChildren(...r.entries.map((e) => el("tr", { "data-seq": e.seq, "data-kind": e.kind },
      el("td", {}, String(e.seq)),
      el("td", {}, timeEl(e.at)),
      el("td", {}, badge(e.kind)),
      el("td", {}, e.summary),
      el("td", { class: "mono", title: e.signedBy || "" }, e.signedBy ? shortKey(e.signedBy) : "—"))));
    note.textContent = r.entries.length === 0 ? "The ledger is empty." : r.truncated ? "Newest " + r.entries.length + " entries shown." : "Newest first.";
    if (first) {
      first = false;
      frame("Ledger", status, note,
        el("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": "Ledger entries" },
          el("table", {},
            el("caption", { class: "visually-hidden" }, "Ledger entries, newest first"),
            el("thead", {}, el("tr", {}, ["#", "When", "Kind", "What", "Signed by"].map((h) => el("th", { scope: "col" }, h)))),
            table)));
    }
  });
  await load();
  onLive((e) => { if (e.type === "payment") load(); });
};
`;
