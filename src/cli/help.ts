/** Help texts, one per command. Kept apart from the parser so the parser stays readable. */
import type { CommandName } from "./plan.ts";

const overview = `vibewriter — a research-and-writing agent that runs every tool inside a microVM,
keeps its state in NATS JetStream and spends only what its owner allows.

Usage: vibewriter <command> [options]

Commands:
  doctor                 check NATS, KVM/QEMU, the guest image, model and wallet; say what to fix
  run "<task>"           start a research task (--sources DIR, --thread ID, --skills DIR ...)
  resume ID              continue a thread that stopped (crash, Ctrl-C, approval)
  threads                list threads
  show ID                a thread's plan (todo status), files and report
  events ID [--follow]   a thread's event log, optionally live
  export ID              a thread's report as HTML, PDF or markdown with footnotes and sources
  demo                   a scripted due-diligence run on bundled samples (no API key needed)
  approve ID             approve a payment proposal waiting for the owner
  reject ID              reject a payment proposal
  payments [--pending]   payment proposals and their status
  ledger verify          check the audit ledger: chain, signatures, anchor, meaning
  prune                  compact finished threads, expire old ones (--older-than AGE, --dry-run)
  owner init|show        the owner's signing identity (approvals are mandates signed with it)
  nats config            the NATS identities and permissions, for an operator's own server
  wallet create|import|show   the owner's Stellar keys (encrypted at rest) and policy
  image build            build the microVM guest image
  web [--port N]         the owner's console: threads, live runs, reports, payment approvals
  submit "<task>"        queue a task for a worker (same options as run); prints the thread id
  worker [-c N]          run queued tasks, at most N at a time, each in its own VM
  fleet                  queue depth, workers, runs in flight, lease takeovers

Every command accepts --json (one JSON document on stdout, for scripts) and --help.

Environment:
  NATS_URL               use this NATS server instead of starting an embedded one
  VIBEWRITER_STATE_DIR   where state lives (default: $XDG_STATE_HOME/vibewriter)
  Model and wallet settings: see \`vibewriter doctor\`.
`;

export const HELP: Record<CommandName | "overview", string> = {
  overview,
  help: overview,
  submit: `Usage: vibewriter submit "<task>" [--sources DIR] [--thread ID] [--skills DIR]... [--allow-network]
                               [--max-model-calls N] [--max-tokens N] [--json]

Stores the sources and skills with a new thread and puts the task on the run queue; prints the
thread id at once. A \`vibewriter worker\` on any machine connected to the same NATS runs it.
The options are run's (\`vibewriter run --help\`); the worker runs with them.
`,
  worker: `Usage: vibewriter worker [--concurrency N] [--json]

Pulls queued runs and runs them, at most N at a time (default 1), each in its own VM. Ctrl-C stops
taking new runs and hands the running ones back to the queue.
`,
  fleet: `Usage: vibewriter fleet [--json]

The run queue's depth and each worker's runs in flight, lease takeovers and VMs.
`,
  doctor: `Usage: vibewriter doctor [--json]

Starts or finds NATS (embedded unless NATS_URL is set), creates the streams and buckets, and checks
KVM, QEMU, the guest image, the nats-server version, Node, the model and the wallet configuration.
Prints what is ready and what is missing with the fix for each. Exits 0 when everything needed is
ready, 1 otherwise.
`,
  run: `Usage: vibewriter run "<task>" [--sources DIR] [--thread ID] [--skills DIR]... [--allow-network]
                            [--max-model-calls N] [--max-tokens N] [--json]

Runs the Vibewriter agent on a task and prints progress (one live status line on a terminal, plain
lines otherwise), then the final report.

Options:
  -s, --sources DIR   folder of source files (markdown, text, HTML, PDF) to research
  -t, --thread ID     thread id to use (default: a new one, printed at the start)
      --skills DIR    an extra skill folder (repeatable)
      --allow-network give the agent a fetch_url tool (pages fetched on the host, public
                      addresses only, stored as sources); the VM itself never has a network
      --max-model-calls N, --max-tokens N
                      the thread's budget over all its runs (default 300 calls, 5,000,000
                      tokens; VIBEWRITER_MAX_MODEL_CALLS, VIBEWRITER_MAX_TOKENS): at the limit
                      the run pauses for the owner
      --json          print the result as JSON instead of progress and report

Ctrl-C stops the run; \`vibewriter resume ID\` continues it where it stopped.
`,
  resume: `Usage: vibewriter resume ID [--skills DIR]... [--allow-network] [--max-model-calls N] [--max-tokens N] [--json]

Continues thread ID from its last checkpoint: after a crash, Ctrl-C, or an approval decision.
Steps with side effects that already ran are not run again. The run's skills, network and budget
are remembered with the thread; options given here replace them (a larger budget lets a run that
paused at its limit go on).
`,
  threads: `Usage: vibewriter threads [--json]

Lists the threads stored in NATS, newest first, with their status.
`,
  show: `Usage: vibewriter show ID [--json]

Shows thread ID: the task, the plan with each todo's status, the files written and the final report.
`,
  events: `Usage: vibewriter events ID [--follow] [--json]

Prints thread ID's event log from the beginning. With --follow, keeps printing new events until
Ctrl-C. With --json, one JSON object per line.
`,
  export: `Usage: vibewriter export ID [--format html|pdf|md] [--out FILE] [--force] [--json]

Exports thread ID's published report for people to read: each citation becomes a numbered
footnote with its quote and source, followed by a Sources appendix (title, id, the quotes used)
and the verification summary, e.g. "21 citations, 21 verified against stored sources". Every
quote is checked again against the stored sources while exporting; one that does not match is
marked "not verified" in the export and counted in the summary.

Options:
  -f, --format FORMAT  html (a self-contained page, print-ready), pdf, or md (markdown with
                       standard [^n] footnotes); default: from the --out extension, else html
  -o, --out FILE       write to FILE; html and md go to stdout without it, and a PDF is written
                       to ID.pdf in the current folder
      --force          replace FILE if it exists (otherwise export refuses to overwrite it)
      --json           print a JSON summary (with the content itself when it went to stdout)

PDFs are printed by Debian's chromium in headless mode, offline (VIBEWRITER_CHROMIUM names
another binary; install it with: apt-get install --no-install-recommends chromium).
`,
  demo: `Usage: vibewriter demo [--thread ID] [--json]

Runs a complete due-diligence task on bundled sample sources with a SCRIPTED model (a recorded plan
of tool calls, not an LLM) on the real microVM sandbox and the real NATS backbone, so you can see
the whole pipeline without an API key.
`,
  approve: `Usage: vibewriter approve ID [--json]

Approves payment proposal ID, which is waiting for the owner's decision: signs a mandate bound to
exactly that payment (destination, asset, amount, memo, policy version, 24 h expiry) with the
owner's key, unlocked by VIBEWRITER_OWNER_PASSPHRASE. The run that proposed it continues (run
\`vibewriter resume THREAD\` if it is no longer running).
`,
  reject: `Usage: vibewriter reject ID [--reason TEXT] [--json]

Rejects payment proposal ID (a signed mandate too, with VIBEWRITER_OWNER_PASSPHRASE). The run
that proposed it continues without paying.
`,
  prune: `Usage: vibewriter prune [--older-than AGE] [--dry-run] [--json]

Retention for finished threads (completed, incomplete, failed): each is compacted to its latest
checkpoint (show and resume need nothing older), and one whose last event is older than AGE is
expired: its checkpoints, events, files (threads/<id>/...), run options and tool journal are deleted.
Running threads and threads waiting for the owner are left alone; the audit ledger, payments,
mandates, published reports, sources and long-term memory are never touched.

  --older-than AGE   30d, 12h, 90m, 2w ... or "never" (default VIBEWRITER_EXPIRE_AFTER, else 30d)
  --dry-run          say what would be done; change nothing
`,
  ledger: `Usage: vibewriter ledger verify [--json]

Reads the whole audit ledger and checks its hash chain, that every entry is signed by the runtime
or the owner, that it still reaches the head anchored outside NATS (a deleted stream, a truncated
tail or a re-hashed chain is named), and what the entries mean: every signature follows a policy
decision or an owner-signed mandate for the same transaction. Exits 0 when all holds, 1 otherwise.
`,
  owner: `Usage: vibewriter owner init [--json]
       vibewriter owner show [--json]

The owner's signing identity (an ed25519 nkey, separate from the Stellar key), sealed in the state
directory with VIBEWRITER_OWNER_PASSPHRASE. Approvals and rejections are mandates signed with it,
and it is the owner's identity on the embedded NATS server. \`init\` creates it once (never
replaced); \`show\` prints its public key (set VIBEWRITER_OWNER_PUBLIC_KEY to it on other machines).
Never give VIBEWRITER_OWNER_PASSPHRASE to \`run\` or a worker.
`,
  nats: `Usage: vibewriter nats config [--json]

Prints the NATS identities (runtime, owner, viewer) and their subject permissions as a nats-server
\`authorization\` block, for an operator who runs their own server or cluster (NATS_URL). The
embedded server is started with exactly this; it never accepts an anonymous client.
`,
  wallet: `Usage: vibewriter wallet create [NAME] [--json]
       vibewriter wallet import NAME [--json]     (the secret seed is read from stdin)
       vibewriter wallet show [--json]

The owner's signing keys, encrypted at rest in the state directory with a key derived from
VIBEWRITER_WALLET_PASSPHRASE (or the master key VIBEWRITER_WALLET_KEY); without one of them the
wallet refuses to open. NAME defaults to "default", the key runs sign with
(VIBEWRITER_WALLET_KEY_NAME chooses another). \`show\` prints public keys and the spending policy
(VIBEWRITER_POLICY, default <state>/wallet/policy.yaml); no command ever prints a secret.
`,
  payments: `Usage: vibewriter payments [--pending] [--json]

Lists payment proposals (newest first) with their status; --pending only those waiting for
\`vibewriter approve ID\` or \`vibewriter reject ID\`.
`,
  web: `Usage: vibewriter web [--port N] [--host ADDR] [--viewer] [--new-token] [--json]

Serves the owner's console on http://127.0.0.1:N (default 7878; 0 picks a free port): threads with
status, cost and waiting approvals, each thread's plan, agent tree, files and report, payments to
approve or reject, the audit ledger and the fleet, live over SSE. Loopback only unless --host is
given; Host and Origin checked, CSRF on every action. It prints a login URL carrying the owner
token (kept in <state>/web/, 0600, so a restart keeps your session; --new-token replaces it);
--viewer also prints a read-only viewer login. Approving needs VIBEWRITER_OWNER_PASSPHRASE set
when the console starts (the key stays in this process; the page never sees it). Runs until Ctrl-C.

--host ADDR listens on ADDR instead of 127.0.0.1 and accepts ADDR (besides the loopback names) as
the Host of a request: browsers elsewhere must open http://ADDR:N. The console speaks plain HTTP,
so on a shared network put it behind TLS (or an SSH tunnel to the loopback port) instead.
`,
  image: `Usage: vibewriter image build [--json]

Builds the microVM guest image (kernel, initramfs, root filesystem with the guest agent) into the
state directory (VIBEWRITER_IMAGES_DIR overrides). The image is keyed by a hash of all its inputs:
when nothing changed, the existing one is reused.
`,
};
