/**
 * The dashboard's single page. No framework, no build step, no external requests: the page calls
 * the server's JSON API and its event stream. Everything from the server is inserted with
 * `textContent`, never as HTML, so a report or event cannot inject markup. The server authenticates
 * it by an HttpOnly cookie set at login (the script never sees the token); when that is refused
 * (the dashboard was restarted with a new token) the page says so instead of showing stale data.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Vibewriter</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; display: grid; grid-template-columns: 22rem 1fr; height: 100vh; }
  nav { border-right: 1px solid #ddd; overflow: auto; }
  nav h1 { font-size: 1rem; margin: .8rem; }
  nav a { display: block; padding: .5rem .8rem; color: inherit; text-decoration: none; border-top: 1px solid #eee; }
  nav a.sel { background: #eef3ff; }
  .st { font-size: .75rem; padding: 0 .3rem; border-radius: .2rem; background: #eee; }
  .st.completed { background: #d7f5dc; } .st.failed { background: #fbd9d9; } .st.interrupted { background: #fff0c2; }
  main { overflow: auto; padding: 0 1.2rem; }
  pre { white-space: pre-wrap; background: #f7f7f7; padding: .8rem; }
  #events { font: 12px/1.4 ui-monospace, monospace; max-height: 40vh; overflow: auto; background: #111; color: #ddd; padding: .6rem; }
  li.completed { color: #2a7a3a; } li.in_progress { font-weight: bold; }
</style>
</head>
<body>
<nav><h1>Vibewriter threads</h1><div id="threads">loading…</div></nav>
<main id="thread"><p>Select a thread.</p></main>
<script>
const $ = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; };
let source = null;
let timer = null;

function signedOut() {
  if (source) { source.close(); source = null; }
  clearInterval(timer);
  document.getElementById("threads").replaceChildren();
  document.getElementById("thread").replaceChildren($("p", "Not signed in: the dashboard may have been restarted. Open the URL that vibewriter web printed."));
}

async function loadThreads() {
  const r = await fetch("/api/threads");
  if (r.status === 401) return signedOut();
  const { threads } = await r.json();
  const box = document.getElementById("threads");
  box.replaceChildren();
  if (threads.length === 0) box.append($("p", "No threads yet. Run vibewriter demo."));
  for (const t of threads) {
    const a = $("a"); a.href = "#" + encodeURIComponent(t.threadId);
    a.append($("div", t.threadId), $("span", t.status, "st " + t.status), $("div", t.task || ""));
    if (location.hash.slice(1) === encodeURIComponent(t.threadId)) a.className = "sel";
    box.append(a);
  }
}

async function showThread(id) {
  const main = document.getElementById("thread");
  if (!id) return;
  const r = await fetch("/api/threads/" + encodeURIComponent(id));
  if (r.status === 401) return signedOut();
  if (!r.ok) { main.replaceChildren($("p", (await r.json()).error)); return; }
  const d = await r.json();
  const plan = $("ul"); for (const t of d.todos) plan.append($("li", t.content, t.status));
  const files = $("ul"); for (const f of d.files) files.append($("li", f));
  const events = $("div"); events.id = "events";
  main.replaceChildren($("h2", d.threadId), $("p", d.task || ""), $("span", d.status, "st " + d.status),
    $("h3", "Plan"), plan, $("h3", "Files"), files, $("h3", "Events (live)"), events, $("h3", "Report"), $("pre", d.report || "(none yet)"));
  if (source) source.close();
  source = new EventSource("/api/threads/" + encodeURIComponent(id) + "/events");
  source.onmessage = (m) => {
    const e = JSON.parse(m.data);
    events.append($("div", e.at.slice(11, 19) + " " + e.type + (e.agent === "main" ? "" : " [" + e.agent + "]") + " " + JSON.stringify(e.data).slice(0, 160)));
    events.scrollTop = events.scrollHeight;
    if (e.type === "run.finished" || e.type === "report.published") { loadThreads(); }
  };
}

window.addEventListener("hashchange", () => { loadThreads(); showThread(decodeURIComponent(location.hash.slice(1))); });
loadThreads(); showThread(decodeURIComponent(location.hash.slice(1)));
timer = setInterval(loadThreads, 5000);
</script>
</body>
</html>
`;
