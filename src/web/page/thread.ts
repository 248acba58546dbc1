/**
 * A thread's live view (`#/thread/<id>`): status and cost, what it waits for, the plan, the agent
 * tree with each tool call collapsed, files and artifacts, the report with its footnotes, exports,
 * its payments and an activity log. Live over the thread's own SSE stream: every event refreshes
 * the details (coalesced); open <details>, focus and typed text survive a refresh.
 */
export const THREAD_JS = String.raw`
const TODO_WORDS = { completed: "done", in_progress: "in progress", pending: "to do" };

function eventLine(e) {
  const d = e.data || {};
  switch (e.type) {
    case "run.started": return d.resumed ? "run resumed" : "run started";
    case "run.finished": return "run finished: " + d.status + (d.reason ? " (" + d.reason + ")" : "");
    case "run.failed": return "run failed: " + d.message;
    case "run.queued": return "queued (" + d.kind + (d.by ? ", by " + d.by : "") + ")";
    case "todos.updated": return "plan updated (" + (d.todos || []).length + " steps)";
    case "model.started": return "model call sent (" + d.model + ")";
    case "model.turn": return "model turn: " + ((d.toolCalls || []).map((c) => c.name).join(", ") || "text");
    case "skill.loaded": return "skill loaded: " + d.name;
    case "memory.changed": return "memory " + d.op + " " + d.path;
    case "child.submitted": return "child run submitted: " + d.child;
    case "child.finished": return "child run " + d.child + ": " + d.status;
    case "model.call": return "model call " + d.model + " (" + d.latencyMs + " ms)";
    case "tool.started": return "tool " + d.tool + " started";
    case "tool.finished": return "tool " + d.tool + ": " + d.status;
    case "file.written": return "file written " + d.path;
    case "subagent.started": return "subagent " + d.subagent + " started";
    case "subagent.finished": return "subagent " + d.subagent + ": " + d.status;
    case "source.stored": return "source stored: " + (d.title || d.origin);
    case "citations.checked": return "citations checked: " + (d.ok ? "ok" : "problems") + " (" + d.citations + ")";
    case "report.published": return "report published (" + d.citations + " citations)";
    case "payment": return "payment " + d.paymentId + ": " + d.status + " (" + d.amount + " " + d.asset + ")";
    case "warning": return "warning: " + d.message;
    default: return e.type;
  }
}

/** Events worth saying aloud in the live region (not every tool call). */
function eventAnnouncement(e) {
  const d = e.data || {};
  if (e.type === "run.started" || e.type === "run.finished" || e.type === "run.failed" || e.type === "report.published" || e.type === "run.queued") return eventLine(e);
  if (e.type === "payment") return eventLine(e);
  return null;
}

function todoList(todos) {
  if (!todos || todos.length === 0) return el("p", { class: "muted" }, "No plan yet.");
  return el("ol", { class: "plan" }, todos.map((t) =>
    el("li", { "data-todo-status": t.status }, badge(t.status, TODO_WORDS[t.status] || t.status), " ", t.content)));
}

function toolItem(t) {
  const key = "tool:" + t.callId;
  const details = el("details", { "data-key": key, "data-tool": t.tool, "data-status": t.status });
  if (state.ui.openDetails.has(key)) details.open = true;
  details.addEventListener("toggle", () => { if (details.open) state.ui.openDetails.add(key); else state.ui.openDetails.delete(key); });
  append(details, [
    el("summary", { "data-key": key + ":summary" }, el("span", { class: "mono" }, t.tool), " ", badge(t.status)),
    el("h4", {}, "Arguments"),
    el("pre", {}, t.args || "(none)"),
    el("h4", {}, "Result"),
    el("pre", {}, t.output !== undefined ? t.output : t.status === "running" ? "(running…)" : "(no output)"),
  ]);
  return el("li", {}, details);
}

function agentItem(a) {
  return el("li", { class: "agent", "data-agent": a.name },
    el("div", { class: "agent-head" }, el("strong", {}, a.name), badge(a.status), a.description ? el("span", { class: "muted" }, a.description) : null),
    a.tools && a.tools.length ? el("ul", { "aria-label": "Tool calls of " + a.name }, a.tools.map(toolItem)) : null,
    a.children && a.children.length ? el("ul", { "aria-label": "Subagents of " + a.name }, a.children.map(agentItem)) : null,
  );
}

function agentTree(agents) {
  if (!agents || agents.length === 0) return el("p", { class: "muted" }, "No agent activity yet.");
  return el("ul", { class: "tree" }, agents.map(agentItem));
}

function fileUrl(threadId, path) {
  return "/api/threads/" + encodeURIComponent(threadId) + "/files/" + encPath(path);
}

function fileTable(t, viewer) {
  // Artifacts are named relative to the thread ("workspace/notes.md"), files by their sandbox path
  // ("/workspace/notes.md"): one row per file either way.
  const rows = new Map();
  const keyOf = (p) => String(p).replace(/^\/+/, "");
  for (const a of t.artifacts || []) rows.set(keyOf(a.path), a);
  for (const f of t.files || []) if (!rows.has(keyOf(f))) rows.set(keyOf(f), { path: keyOf(f) });
  if (rows.size === 0) return el("p", { class: "muted" }, "No files yet.");
  const table = el("table", {},
    el("caption", { class: "visually-hidden" }, "Files written by the run"),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Path"), el("th", { scope: "col" }, "Size"), el("th", { scope: "col" }, "Open"))),
    el("tbody", {}, [...rows.values()].map((f) => el("tr", { "data-file": f.path },
      el("td", { class: "mono" }, f.path),
      el("td", {}, bytes(f.bytes)),
      el("td", {},
        el("button", { type: "button", "data-key": "view:" + f.path, onclick: () => viewFile(t.threadId, f.path, viewer) }, "View", el("span", { class: "visually-hidden" }, " " + f.path)),
        " ",
        el("a", { class: "button", href: fileUrl(t.threadId, f.path) + "?download=1", download: f.path.split("/").pop() }, "Download", el("span", { class: "visually-hidden" }, " " + f.path)),
      )))));
  return el("div", { class: "scroll" }, table);
}

async function viewFile(threadId, path, viewer) {
  const r = await fetch(fileUrl(threadId, path), { credentials: "same-origin" });
  const head = el("h3", { tabindex: "-1" }, path);
  if (!r.ok) { viewer.replaceChildren(head, el("p", { class: "problem", role: "alert" }, await readError(r))); head.focus(); return; }
  const type = r.headers.get("content-type") || "";
  const body = type.startsWith("text/") ? el("pre", { "data-file-text": path }, await r.text()) : el("p", {}, "A binary file: use Download.");
  viewer.replaceChildren(head, body, el("button", { type: "button", onclick: () => viewer.replaceChildren() }, "Close"));
  head.focus();
}

function waitingBox(t) {
  const waits = t.waitingFor || [];
  if (!waits.length) return null;
  return el("div", { class: "notice", "data-waiting": "" }, el("p", {}, el("strong", {}, "Waiting for a decision")),
    el("ul", {}, waits.map((w) => {
      if (w.kind === "payment_approval") return el("li", {}, "Payment " + w.proposalId + ": " + w.amount + " " + w.asset + " to " + shortKey(w.destination) + (w.reason ? " — " + w.reason : "") + ". ", el("a", { href: "#/payments" }, "Decide on the payments page"));
      if (w.kind === "budget_exhausted") return el("li", {}, w.reason + " (" + w.resume + ")");
      if (w.kind === "child_run") return el("li", {}, "A child run: ", el("a", { href: threadHref(w.child) }, w.child));
      return el("li", {}, w.value || w.kind);
    })));
}

function costList(t) {
  const u = (t.usage && t.usage.total) || {};
  const paid = new Map();
  for (const p of t.payments || []) if (["signed", "submitted"].includes(p.status)) paid.set(p.asset, (paid.get(p.asset) || 0) + Number(p.amount));
  return el("dl", { class: "kv", id: "cost" },
    el("dt", {}, "Model calls"), el("dd", {}, String(u.calls || 0)),
    el("dt", {}, "Tokens"), el("dd", {}, (u.inputTokens || 0).toLocaleString() + " in · " + (u.outputTokens || 0).toLocaleString() + " out"),
    el("dt", {}, "Paid"), el("dd", {}, paid.size ? [...paid].map(([a, n]) => n + " " + a).join(", ") : "nothing"),
    el("dt", {}, "Events"), el("dd", {}, String(t.events || 0)),
  );
}

function links(t) {
  const items = [];
  if (t.parent) items.push(el("li", {}, "Delegated by ", el("a", { href: threadHref(t.parent) }, t.parent)));
  for (const c of t.children || []) items.push(el("li", {}, "Child run ", el("a", { href: threadHref(c.threadId) }, c.threadId), ": " + c.question + (c.ended ? " (" + c.ended.status + ")" : "")));
  return items.length ? el("ul", {}, items) : null;
}

function section(id, title) {
  const body = el("div", { id: id + "-body" });
  return { node: el("section", { "aria-labelledby": id + "-h", id }, el("h2", { id: id + "-h" }, title), body), body };
}

/** Replaces a section's content, keeping focus on the "same" element (by data-key) when it had it. */
function fill(body, content) {
  const active = document.activeElement;
  const key = active && body.contains(active) && active.dataset ? active.dataset.key : null;
  body.replaceChildren(...[content].flat(Infinity).filter(Boolean));
  if (key) { const again = body.querySelector("[data-key='" + CSS.escape(key) + "']"); if (again) again.focus(); }
}

views.thread = async (route, ctx) => {
  const id = route.id;
  const base = "/api/threads/" + encodeURIComponent(id);
  let t;
  try {
    t = await api(base);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
    // A link opened before the run starts: wait on the thread's stream, show it at its first event.
    if (ctx.stale()) return;
    frame(id, el("p", { class: "notice", id: "thread-waiting", role: "status" }, "No events for thread " + id + " yet: this page shows it as soon as it starts."));
    state.cleanups.push(openStream(base + "/events", () => navigate()));
    return;
  }
  if (ctx.stale()) return;

  const stateLine = el("p", { id: "thread-state" });
  const liveLine = el("p", { id: "thread-live", class: "muted", role: "status", "aria-live": "polite" });
  const overview = section("overview", "Overview");
  const plan = section("plan", "Plan");
  const agents = section("agents", "Agents and tool calls");
  const files = section("files", "Files and artifacts");
  const viewer = el("div", { id: "file-view" }); // outside the refreshed body: an open file stays open
  files.node.append(viewer);
  const report = section("report", "Report");
  const pays = section("thread-payments", "Payments");
  const activity = section("activity", "Activity");
  const activityList = el("ol", { class: "activity", id: "activity-log", tabindex: "0", "aria-label": "Events of this thread" });
  activity.body.append(activityList);

  let liveTodos = null; // from the stream's last todos.updated
  let reportWanted = 0; // bumps on every report.published: the shown report is then stale
  let reportShown = null;
  const renderReport = async () => {
    if (!t.hasReport) { fill(report.body, el("p", { class: "muted" }, "No report yet.")); reportShown = null; return; }
    if (reportShown === reportWanted) return;
    const wanted = reportWanted;
    const r = await api(base + "/report");
    if (ctx.stale()) return;
    reportShown = wanted;
    const doc = el("div", { class: "report", id: "report-html" });
    // The one place HTML from the server is inserted: renderReportHtml's fragment, which the server
    // builds with raw HTML off and sanitised links (the CSP forbids any script in it anyway).
    doc.innerHTML = r.html;
    // The report sits under this page's "Report" heading (h2): its own headings move two levels down.
    for (const h of [...doc.querySelectorAll("h1, h2, h3, h4, h5, h6")]) {
      const level = Math.min(6, Number(h.tagName.slice(1)) + 2);
      const moved = document.createElement("h" + level);
      for (const a of [...h.attributes]) moved.setAttribute(a.name, a.value);
      moved.append(...h.childNodes);
      h.replaceWith(moved);
    }
    const v = r.verification || {};
    const exports = el("p", { class: "actions" }, ["html", "md", "pdf"].map((f) =>
      el("a", { class: "button", href: base + "/export?format=" + f, download: id + "." + f, "data-export": f }, "Export " + f.toUpperCase())));
    fill(report.body, [
      el("p", { class: v.citations && v.verified === v.citations ? "fine" : "notice", id: "report-verification" }, v.summary || (v.verified + " of " + v.citations + " citations verified")),
      exports,
      doc,
    ]);
  };

  const render = async () => {
    // The task may arrive after the first events (sources are stored before run.started).
    const title = document.getElementById("view-title");
    if (title && title.textContent !== (t.task || t.threadId)) {
      title.textContent = t.task || t.threadId;
      document.title = title.textContent + " · Vibewriter console";
    }
    stateLine.replaceChildren(badge(t.status), t.reason ? " " + t.reason : "", " ", el("span", { class: "mono muted" }, t.threadId));
    fill(overview.body, [waitingBox(t), costList(t), links(t)]);
    // The plan as the last todos.updated event says it (live), else as the checkpoint holds it.
    fill(plan.body, todoList(liveTodos || t.todos));
    fill(agents.body, agentTree(t.agents));
    fill(files.body, fileTable(t, viewer));
    fill(pays.body, (t.payments || []).length ? el("div", { class: "cards" }, t.payments.map((p) => paymentCard(p, () => reload()))) : el("p", { class: "muted" }, "No payments."));
    await renderReport();
  };

  frame(t.task || t.threadId, stateLine, liveLine, overview.node, plan.node, agents.node, files.node, report.node, pays.node, activity.node);
  await render();

  const reload = coalesce(async () => {
    t = await api(base);
    if (ctx.stale()) return;
    // A decision being sent from this view keeps its card until its own reload.
    if (state.ui.confirming && document.querySelector("[data-confirm]:disabled")) return;
    await render();
  });

  const seen = new Set();
  let replaying = t.events || 0; // the stream starts with the events already counted: not news
  const stop = openStream(base + "/events", (e) => {
    if (typeof e.seq === "number") { if (seen.has(e.seq)) return; seen.add(e.seq); }
    const li = el("li", { "data-seq": e.seq, "data-type": e.type },
      el("time", { datetime: e.at }, (e.at || "").slice(11, 19)), " ", e.agent && e.agent !== "main" ? "[" + e.agent + "] " : "", eventLine(e));
    activityList.append(li);
    while (activityList.children.length > 300) activityList.firstChild.remove();
    activityList.dataset.lastSeq = String(e.seq);
    if (e.type === "report.published") reportWanted++;
    if (e.type === "todos.updated" && e.data && Array.isArray(e.data.todos)) liveTodos = e.data.todos;
    const say = replaying-- > 0 ? null : eventAnnouncement(e);
    if (say) liveLine.textContent = say;
    reload();
  });
  state.cleanups.push(stop);
};
`;
