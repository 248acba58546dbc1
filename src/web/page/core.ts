/**
 * The console script's core (browser JavaScript, kept as a string: the CLI is one esbuild bundle):
 * building DOM safely, the JSON API with the session's CSRF token, the live streams and the hash
 * router. Views (the other modules) register themselves in `views`.
 *
 * Data from the server only ever reaches the page through `textContent`/attributes, except the
 * report fragment the server has sanitised (see thread.ts).
 */
export const CORE_JS = String.raw`
const views = {};
const state = {
  session: null,          // { role, csrf, canDecide, decideHint }
  route: null,            // the parsed current route
  renderToken: 0,         // bumps on every navigation: a late answer for an old view is dropped
  cleanups: [],           // what the current view opened (its EventSource…)
  live: null,             // the /api/live EventSource
  liveListeners: new Set(),
  ui: { rejectReasons: new Map(), confirming: null, results: new Map(), openDetails: new Set() },
};

/** el("a", { href: "#/", class: "x" }, "text", otherNode…): attributes and text only, never HTML. */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, String(value));
  }
  append(node, children);
  return node;
}
function append(node, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}
const text = (s) => document.createTextNode(String(s));

/** A status word as a badge (colour and the word itself, so colour is never the only signal). */
function badge(status, label) {
  const s = String(status || "unknown");
  return el("span", { class: "st st-" + s.replace(/[^a-z_]/gi, "") }, label || s.replace(/_/g, " "));
}

function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
function timeEl(iso) {
  return iso ? el("time", { datetime: iso }, when(iso)) : text("—");
}
function bytes(n) {
  if (typeof n !== "number") return "";
  if (n < 1024) return n + " B";
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KiB";
  return (n / 1024 / 1024).toFixed(1) + " MiB";
}
function shortKey(k) {
  return k && k.length > 16 ? k.slice(0, 6) + "…" + k.slice(-6) : (k || "");
}
/** "encodeURIComponent" for each segment of a path. */
const encPath = (p) => String(p).replace(/^\/+/, "").split("/").map(encodeURIComponent).join("/");

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function readError(r) {
  try {
    const body = await r.json();
    if (body && typeof body.error === "string") return body.error;
  } catch (e) {}
  return r.status + " " + r.statusText;
}

/** GET JSON; a 401 signs the page out (the token changed or the session is gone). */
async function api(path) {
  const r = await fetch(path, { headers: { accept: "application/json" }, credentials: "same-origin" });
  if (r.status === 401) { signedOut(); throw new ApiError(401, "not signed in"); }
  if (!r.ok) throw new ApiError(r.status, await readError(r));
  return r.json();
}

/** POST JSON with the session's CSRF token. */
async function post(path, body) {
  const r = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json", accept: "application/json", "x-csrf-token": state.session ? state.session.csrf : "" },
    body: JSON.stringify(body || {}),
  });
  if (r.status === 401) { signedOut(); throw new ApiError(401, "not signed in"); }
  if (!r.ok) throw new ApiError(r.status, await readError(r));
  return r.json();
}

function announce(message) {
  const box = document.getElementById("announce");
  box.textContent = "";
  // A new text node in an emptied live region is read even when the words repeat.
  requestAnimationFrame(() => { box.textContent = message; });
}

function setConn(kind) {
  const conn = document.getElementById("conn");
  const words = { live: "Live", reconnecting: "Reconnecting…", offline: "Offline" };
  if (conn.dataset.state === kind) return;
  conn.dataset.state = kind;
  conn.className = kind;
  conn.textContent = words[kind] || "";
}

let signedOutShown = false;
function signedOut() {
  if (signedOutShown) return;
  signedOutShown = true;
  stopView();
  if (state.live) { state.live.close(); state.live = null; }
  setConn("offline");
  const main = document.getElementById("main");
  main.replaceChildren(
    el("h1", { tabindex: "-1", id: "view-title" }, "Not signed in"),
    el("p", {}, "This browser has no valid session for the console: it may have been started with a new token. Open the login URL that ", el("code", {}, "vibewriter web"), " printed."),
  );
  document.getElementById("view-title").focus();
}

/**
 * An EventSource that shows its state in the header. The browser reconnects by itself and resends
 * Last-Event-ID; when it gives up (the server answered with an error), the session is checked and
 * a fresh stream is opened after the last event seen.
 */
function openStream(url, onEvent) {
  let source = null;
  let stopped = false;
  let retry = null;
  let lastId = "";
  const start = () => {
    // A fresh EventSource cannot send Last-Event-ID: ?after= asks the server for the same.
    source = new EventSource(lastId ? url + (url.includes("?") ? "&" : "?") + "after=" + encodeURIComponent(lastId) : url);
    source.addEventListener("open", () => setConn("live"));
    source.addEventListener("vw", (m) => {
      let data;
      try { data = JSON.parse(m.data); } catch (e) { return; }
      if (m.lastEventId) lastId = m.lastEventId;
      onEvent(data, m.lastEventId);
    });
    source.addEventListener("error", () => {
      if (stopped) return;
      if (source.readyState === EventSource.CONNECTING) { setConn("reconnecting"); return; }
      setConn("reconnecting");
      source.close();
      retry = setTimeout(async () => {
        retry = null;
        try { await api("/api/session"); } catch (e) { if (e.status === 401) return; }
        if (!stopped) start();
      }, 2000);
    });
  };
  start();
  return () => { stopped = true; if (retry) clearTimeout(retry); if (source) source.close(); };
}

function startLive() {
  if (state.live) return;
  state.live = { close: openStream("/api/live", (data) => { for (const f of [...state.liveListeners]) f(data); }) };
}
/** Calls f on every /api/live event while the current view stays. */
function onLive(f) {
  state.liveListeners.add(f);
  state.cleanups.push(() => state.liveListeners.delete(f));
}

/**
 * Runs load() now and again after each call to the returned trigger, never two at once: events
 * that arrive while a load runs cause exactly one more (no timers, no lost update).
 */
function coalesce(load) {
  let running = false;
  let again = false;
  const run = async () => {
    if (running) { again = true; return; }
    running = true;
    try {
      do { again = false; await load(); } while (again);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) console.error(e);
    } finally {
      running = false;
    }
  };
  return run;
}

async function refreshPendingCount() {
  try {
    const { payments } = await api("/api/payments?status=pending");
    const n = payments.length;
    const box = document.getElementById("pending-count");
    box.replaceChildren(...(n ? [text(n), el("span", { class: "visually-hidden" }, " waiting for approval")] : []));
  } catch (e) {}
}

function stopView() {
  for (const f of state.cleanups.splice(0)) {
    try { f(); } catch (e) {}
  }
}

/** Parses the hash: "#/", "#/thread/ID", "#/thread/ID/source/SID?quote=…", "#/payments", "#/ledger", "#/fleet". */
function parseRoute(hash) {
  if (!hash || hash === "#" || hash === "#/") return { view: "threads" };
  if (!hash.startsWith("#/")) return null; // e.g. the skip link's #main: not a route
  const q = hash.indexOf("?");
  const path = q < 0 ? hash.slice(2) : hash.slice(2, q);
  const query = new URLSearchParams(q < 0 ? "" : hash.slice(q + 1));
  let parts;
  try { parts = path.split("/").filter(Boolean).map(decodeURIComponent); } catch (e) { return { view: "notfound" }; }
  if (parts[0] === "thread" && parts.length === 2) return { view: "thread", id: parts[1] };
  if (parts[0] === "thread" && parts[2] === "source" && parts.length === 4) return { view: "source", id: parts[1], sourceId: parts[3], quote: query.get("quote") || "" };
  if (parts.length === 1 && ["payments", "ledger", "fleet", "threads"].includes(parts[0])) return { view: parts[0] === "threads" ? "threads" : parts[0] };
  return { view: "notfound" };
}

const threadHref = (id) => "#/thread/" + encodeURIComponent(id);

/** The view's frame: its heading (focused on navigation) and a body the view fills. */
function frame(title, ...children) {
  const main = document.getElementById("main");
  const h1 = el("h1", { tabindex: "-1", id: "view-title" }, title);
  main.replaceChildren(h1);
  append(main, children);
  return h1;
}

function showError(e) {
  const main = document.getElementById("main");
  if (e instanceof ApiError && e.status === 401) return;
  main.replaceChildren(
    el("h1", { tabindex: "-1", id: "view-title" }, e instanceof ApiError && e.status === 404 ? "Not found" : "Something went wrong"),
    el("p", { class: "problem", role: "alert" }, e.message || String(e)),
    el("p", {}, el("a", { href: "#/" }, "Back to threads")),
  );
}

async function navigate() {
  const route = parseRoute(location.hash);
  if (!route) return; // not a route: keep the view
  if (signedOutShown) return;
  stopView();
  state.afterRender = null;
  state.route = route;
  const token = ++state.renderToken;
  for (const a of document.querySelectorAll("[data-nav]")) {
    const current = a.dataset.nav === route.view || (a.dataset.nav === "threads" && (route.view === "thread" || route.view === "source"));
    if (current) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  const view = views[route.view] || views.notfound;
  try {
    await view(route, { stale: () => token !== state.renderToken });
    if (token !== state.renderToken) return;
    const h1 = document.getElementById("view-title");
    if (h1) document.title = h1.textContent + " · Vibewriter console";
    // Focus the new view's heading so keyboard and screen-reader users start there, except on the
    // first load (focus stays at the top of the page, where the skip link is).
    const after = state.afterRender;
    state.afterRender = null;
    if (after) after();
    else if (h1 && state.navigated) h1.focus();
    state.navigated = true;
  } catch (e) {
    if (token === state.renderToken) showError(e);
  }
}

views.notfound = async () => {
  frame("Not found", el("p", {}, "No such page in the console. ", el("a", { href: "#/" }, "Back to threads")));
};

async function boot() {
  document.getElementById("skip").addEventListener("click", (e) => {
    e.preventDefault(); // the hash is the router's: move focus instead of changing it
    const target = document.getElementById("view-title") || document.getElementById("main");
    target.focus();
  });
  try {
    state.session = await api("/api/session");
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) showError(e);
    return;
  }
  const role = document.getElementById("role");
  role.textContent = state.session.role === "owner" ? "Owner" : "Viewer (read-only)";
  document.body.dataset.role = state.session.role;
  window.addEventListener("hashchange", navigate);
  startLive();
  state.liveListeners.add((e) => { if (e.type === "payment") refreshPendingCount(); });
  refreshPendingCount();
  await navigate();
  document.body.dataset.ready = "true";
}
`;
