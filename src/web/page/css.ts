/**
 * The console's stylesheet: readable at 375 px (one column, wrapping header, scrollable tables) and
 * at 1280 px (a centred column); status shown in words as well as colour; a visible focus ring.
 */
export const CONSOLE_CSS = `
:root { --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #fff; --soft: #f6f8fa; --accent: #0b57d0;
  --ok: #116329; --ok-bg: #dafbe1; --warn: #7d4e00; --warn-bg: #fff8c5; --bad: #a40e26; --bad-bg: #ffebe9; --run-bg: #ddf4ff; --run: #0a3069; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .875rem; }
pre { white-space: pre-wrap; word-break: break-word; background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: .6rem .75rem; margin: .4rem 0; max-height: 24rem; overflow: auto; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
main:focus { outline: none; }
.visually-hidden { position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.skip { position: absolute; left: .5rem; top: -3rem; background: var(--fg); color: #fff; padding: .5rem .75rem; border-radius: 4px; z-index: 10; }
.skip:focus { top: .5rem; }

.top { display: flex; flex-wrap: wrap; align-items: center; gap: .25rem 1.25rem; padding: .5rem 1rem; border-bottom: 1px solid var(--line); background: var(--soft); }
.brand { margin: 0; font-weight: 700; }
.brand a { color: var(--fg); text-decoration: none; }
.top nav ul { display: flex; flex-wrap: wrap; gap: .25rem; list-style: none; margin: 0; padding: 0; }
.top nav a { display: inline-block; padding: .35rem .6rem; border-radius: 6px; text-decoration: none; }
.top nav a[aria-current="page"] { background: var(--fg); color: #fff; }
.count:not(:empty) { display: inline-block; min-width: 1.4em; padding: 0 .35em; border-radius: 1em; background: var(--bad); color: #fff; font-size: .8rem; text-align: center; }
.who { margin: 0 0 0 auto; color: var(--muted); font-size: .875rem; }
#conn.live { color: var(--ok); }
#conn.reconnecting, #conn.offline { color: var(--bad); font-weight: 600; }

main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.5rem; line-height: 1.25; margin: .25rem 0 .5rem; overflow-wrap: anywhere; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; padding-bottom: .25rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1rem; margin: .25rem 0; overflow-wrap: anywhere; }
.muted { color: var(--muted); }
.foot { max-width: 72rem; margin: 2rem auto 1rem; padding: 0 1rem; color: var(--muted); font-size: .8rem; }

.st { display: inline-block; padding: 0 .5em; border-radius: 1em; font-size: .8rem; font-weight: 600; background: var(--soft); border: 1px solid var(--line); white-space: nowrap; }
.st-completed, .st-ok, .st-approved, .st-signed, .st-submitted { background: var(--ok-bg); color: var(--ok); }
.st-running, .st-queued, .st-in_progress, .st-signing { background: var(--run-bg); color: var(--run); }
.st-interrupted, .st-incomplete, .st-pending_approval, .st-pending { background: var(--warn-bg); color: var(--warn); }
.st-failed, .st-error, .st-rejected, .st-denied, .st-refused, .st-submit_failed { background: var(--bad-bg); color: var(--bad); }

.cards { list-style: none; margin: 0; padding: 0; display: grid; gap: .75rem; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: .75rem 1rem; background: var(--bg); }
.card h3 a { text-decoration: none; }
.meta { display: flex; flex-wrap: wrap; gap: .25rem 1rem; margin: .25rem 0 0; padding: 0; list-style: none; color: var(--muted); font-size: .875rem; }
.kv { display: grid; grid-template-columns: max-content 1fr; gap: .15rem .75rem; margin: .5rem 0; }
.kv dt { color: var(--muted); }
.kv dd { margin: 0; overflow-wrap: anywhere; }
.notice { border-left: 4px solid var(--warn); background: var(--warn-bg); padding: .5rem .75rem; border-radius: 4px; }
.problem { border-left: 4px solid var(--bad); background: var(--bad-bg); padding: .5rem .75rem; border-radius: 4px; }
.fine { border-left: 4px solid var(--ok); background: var(--ok-bg); padding: .5rem .75rem; border-radius: 4px; }

button, .button { font: inherit; font-size: .9rem; padding: .4rem .8rem; border-radius: 6px; border: 1px solid var(--line); background: var(--soft); color: var(--fg); cursor: pointer; text-decoration: none; display: inline-block; min-height: 2.25rem; }
button.primary { background: var(--ok); border-color: var(--ok); color: #fff; }
button.danger { background: var(--bad); border-color: var(--bad); color: #fff; }
button:disabled { opacity: .6; cursor: progress; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; margin-top: .5rem; }
label { display: block; font-size: .875rem; color: var(--muted); }
input[type="text"] { font: inherit; padding: .35rem .5rem; border: 1px solid var(--muted); border-radius: 6px; width: 100%; max-width: 24rem; }
.field { flex: 1 1 14rem; }
.result { margin: .5rem 0 0; }

.plan { padding-left: 1.5rem; }
.plan li { margin: .15rem 0; }
.tree, .tree ul { list-style: none; margin: 0; padding-left: 1rem; border-left: 2px solid var(--line); }
.tree { padding-left: .75rem; }
.agent { margin: .4rem 0; }
.agent-head { display: flex; flex-wrap: wrap; gap: .5rem; align-items: baseline; }
details { margin: .2rem 0; }
summary { cursor: pointer; padding: .15rem 0; }
summary .mono { overflow-wrap: anywhere; }

.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid var(--line); }
td.mono, td .mono { overflow-wrap: anywhere; }
th { background: var(--soft); }
@media (min-width: 40rem) { td time { white-space: nowrap; } }

.report { border: 1px solid var(--line); border-radius: 8px; padding: .5rem 1rem; overflow-wrap: anywhere; }
.report sup a, .report a[href^="#/"] { padding: 0 .15em; }
.source-text { white-space: pre-wrap; overflow-wrap: anywhere; background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: .75rem; font-size: .95rem; }
mark { background: #ffe066; color: inherit; padding: .05em 0; outline: 2px solid #e0a800; }
.activity { list-style: none; padding: 0; margin: 0; max-height: 18rem; overflow: auto; font-size: .85rem; border: 1px solid var(--line); border-radius: 6px; }
.activity li { padding: .15rem .5rem; border-bottom: 1px solid var(--soft); overflow-wrap: anywhere; }

@media (max-width: 40rem) {
  body { font-size: 15px; }
  main { padding: .75rem; }
  .who { margin-left: 0; width: 100%; }
  .kv { grid-template-columns: 1fr; }
  .kv dt { margin-top: .35rem; }
  h1 { font-size: 1.25rem; }
}
`;
