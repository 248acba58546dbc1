/**
 * What the `vibewriter` command will do, as plain data: the output of the pure parser
 * (`parse.ts`) and the input of the runner (`main.ts`). Every plan carries `json`: when true the
 * command prints one JSON document on stdout (for scripts) instead of text for people.
 */

export const CommandName = {
  Doctor: "doctor",
  Run: "run",
  Resume: "resume",
  Threads: "threads",
  Show: "show",
  Events: "events",
  Demo: "demo",
  Approve: "approve",
  Reject: "reject",
  Ledger: "ledger",
  Image: "image",
  Wallet: "wallet",
  Payments: "payments",
  Web: "web",
  Owner: "owner",
  Nats: "nats",
  Prune: "prune",
  Submit: "submit",
  Worker: "worker",
  Fleet: "fleet",
  Export: "export",
  Help: "help",
} as const;
export type CommandName = (typeof CommandName)[keyof typeof CommandName];

/** What `export` writes: a standalone HTML document, a PDF, or markdown with footnotes. */
export const ExportFormat = { Html: "html", Pdf: "pdf", Md: "md" } as const;
export type ExportFormat = (typeof ExportFormat)[keyof typeof ExportFormat];

interface Common {
  json: boolean;
}

/**
 * A task to run now (`run`) or queue (`submit`, where sources and skills are stored with the thread
 * so any worker has them).
 */
interface Task {
  task: string;
  /** Folder of source files to research (absolute path). */
  sources?: string;
  /** Thread id to use; a fresh one is made when absent. */
  threadId?: string;
  /** Extra skill folders (absolute paths), in the order given. */
  skills: string[];
  /** Give the agent the host-side `fetch_url` tool (the VM itself never gets a network). */
  allowNetwork: boolean;
  maxModelCalls?: number;
  maxTokens?: number;
}

export type CommandPlan =
  | { command: "help"; topic?: CommandName; json: false }
  | { command: "version"; json: boolean }
  | ({ command: "doctor" } & Common)
  | ({ command: "run" } & Task & Common)
  | ({ command: "resume"; threadId: string; skills: string[]; allowNetwork: boolean; maxModelCalls?: number; maxTokens?: number } & Common)
  | ({ command: "threads" } & Common)
  | ({ command: "show"; threadId: string } & Common)
  | ({ command: "events"; threadId: string; follow: boolean } & Common)
  | ({ command: "export"; threadId: string; format: ExportFormat; /** Absolute path; absent: stdout (a PDF goes to `<thread>.pdf`). */ out?: string; force: boolean } & Common)
  | ({ command: "demo"; threadId?: string } & Common)
  | ({ command: "approve"; id: string } & Common)
  | ({ command: "reject"; id: string; reason?: string } & Common)
  | ({ command: "ledger-verify" } & Common)
  | ({ command: "image-build" } & Common)
  | ({ command: "wallet-create"; name: string } & Common)
  | ({ command: "wallet-import"; name: string } & Common)
  | ({ command: "wallet-show" } & Common)
  | ({ command: "payments"; pending: boolean } & Common)
  | ({ command: "web"; port: number; /** Listen address; absent: 127.0.0.1 only. */ host?: string; /** Also print a read-only viewer login. */ viewer: boolean; /** Replace the persisted console tokens. */ newToken: boolean } & Common)
  | ({ command: "owner-init" } & Common)
  | ({ command: "owner-show" } & Common)
  | ({ command: "nats-config" } & Common)
  | ({ command: "prune"; olderThan?: string; dryRun: boolean } & Common)
  | ({ command: "submit" } & Task & Common)
  | ({ command: "worker"; /** Runs at once, each in its own VM. */ concurrency: number } & Common)
  | ({ command: "fleet" } & Common);
