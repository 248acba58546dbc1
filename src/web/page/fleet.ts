/** The fleet (`#/fleet`): the VM pool, the run queue and each worker (from the NATS service's stats). */
export const FLEET_JS = String.raw`
views.fleet = async (route, ctx) => {
  const poolBox = el("div", { "aria-live": "polite" });
  const queueBox = el("div", { "aria-live": "polite" });
  const workersBox = el("div");
  // Runs starting and ending (and takeovers) change the numbers: reloaded on those live events.
  const load = coalesce(async () => {
    const f = await api("/api/fleet");
    if (ctx.stale()) return;
    poolBox.replaceChildren(f.pool
      ? el("dl", { class: "kv", id: "pool" },
        el("dt", {}, "Ready VMs"), el("dd", {}, String(f.pool.ready)),
        el("dt", {}, "Starting"), el("dd", {}, String(f.pool.starting)),
        f.pool.max !== undefined ? [el("dt", {}, "Most at once"), el("dd", {}, String(f.pool.max))] : null)
      : el("p", { class: "muted", id: "pool" }, "No VM pool reported (no worker is running)."));
    queueBox.replaceChildren(el("p", { id: "queue" }, f.queueDepth === undefined ? "Queue depth unknown." : f.queueDepth + " run" + (f.queueDepth === 1 ? "" : "s") + " waiting for a worker."));
    workersBox.replaceChildren(f.workers.length
      ? el("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": "Workers" },
        el("table", { id: "workers" },
          el("caption", { class: "visually-hidden" }, "Workers"),
          el("thead", {}, el("tr", {}, ["Worker", "Host", "Runs in flight", "Concurrency", "Takeovers"].map((h) => el("th", { scope: "col" }, h)))),
          el("tbody", {}, f.workers.map((w) => el("tr", { "data-worker": w.id },
            el("td", { class: "mono" }, w.id), el("td", {}, w.host), el("td", {}, String(w.runsInFlight)),
            el("td", {}, String(w.concurrency)), el("td", {}, String(w.takeovers)))))))
      : el("p", { class: "muted", id: "workers" }, "No worker answers. Start one with vibewriter worker."));
  });
  await load();
  if (ctx.stale()) return;
  frame("Fleet",
    el("p", { class: "actions" }, el("button", { type: "button", id: "fleet-refresh", onclick: () => load() }, "Refresh")),
    el("section", { "aria-labelledby": "pool-h" }, el("h2", { id: "pool-h" }, "VM pool"), poolBox),
    el("section", { "aria-labelledby": "queue-h" }, el("h2", { id: "queue-h" }, "Run queue"), queueBox),
    el("section", { "aria-labelledby": "workers-h" }, el("h2", { id: "workers-h" }, "Workers"), workersBox));
  onLive((e) => { if (/^(run|lease)\./.test(e.type)) load(); });
};
`;
