/**
 * HTML to PDF through Debian's chromium in headless mode (`--print-to-pdf`), one browser per PDF.
 *
 * The browser is a large program fed text a language model wrote, so it runs walled in: a fresh
 * profile and HOME in a temporary folder (removed afterwards), an environment with none of this
 * process's secrets (`childEnv`), no network (every host resolves to nothing, every request goes to
 * a dead proxy, loopback included) and a document CSP that lets the page load nothing. It gets a
 * deadline and its whole process group is killed when the deadline passes or the caller aborts.
 */
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { access, constants, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { childEnv, procStat } from "../config/index.ts";
import { ExportError, ExportErrorCode } from "./errors.ts";

export const DEFAULT_CHROMIUM = "/usr/bin/chromium";
/** Generous: a loaded 2-core machine (VMs under TCG beside it) prints a long report in tens of seconds. */
const DEFAULT_TIMEOUT_MS = 120_000;
/** What is kept of the browser's stderr for an error message (its last bytes). */
const STDERR_TAIL = 4096;

export interface RenderPdfOptions {
  signal?: AbortSignal;
  /** Kill the browser after this long (default 120 s). */
  timeoutMs?: number;
  /** The browser to run; default `VIBEWRITER_CHROMIUM`, else /usr/bin/chromium. */
  browser?: string;
  /**
   * A tagged PDF (structure for screen readers; default true). Tagging costs chromium about
   * 15 ms a footnote here (1000 footnotes: 25 s instead of 9 s) and quadruples the size: turn
   * it off for huge reports (`TAGGED_PDF_MAX_FOOTNOTES`).
   */
  tagged?: boolean;
}

/** Above this many footnotes the CLI prints an untagged PDF (see `RenderPdfOptions.tagged`). */
export const TAGGED_PDF_MAX_FOOTNOTES = 300;

/** No page the export prints may load anything: scripts, images, fonts, frames, styles from elsewhere. */
const NOTHING_LOADS = `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`;

/** The document with the no-load CSP first in its head (a second CSP only narrows one it has). */
function walledIn(html: string): string {
  const head = /<head(\s[^>]*)?>/i.exec(html);
  if (!head) return NOTHING_LOADS + html;
  const at = head.index + head[0].length;
  return html.slice(0, at) + NOTHING_LOADS + html.slice(at);
}

function browserArgs(profile: string, pdf: string, page: string, tagged: boolean): string[] {
  return [
    "--headless",
    // Chromium's own sandbox cannot start as root; elsewhere it stays on.
    ...(process.getuid?.() === 0 ? ["--no-sandbox"] : []),
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-quic",
    "--mute-audio",
    // No network: names resolve to nothing and every request, loopback too, goes to a closed port.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    `--user-data-dir=${profile}`,
    "--no-pdf-header-footer",
    ...(tagged ? [] : ["--disable-pdf-tagging"]),
    `--print-to-pdf=${pdf}`,
    `file://${page}`,
  ];
}

async function findBrowser(explicit?: string): Promise<string> {
  const browser = explicit ?? (process.env.VIBEWRITER_CHROMIUM || DEFAULT_CHROMIUM);
  try {
    await access(browser, constants.X_OK);
  } catch (cause) {
    throw new ExportError(ExportErrorCode.BrowserMissing, `cannot print a PDF: no browser at ${browser}`, {
      cause,
      fix: "Install Debian's chromium (apt-get install --no-install-recommends chromium), or set VIBEWRITER_CHROMIUM to a Chromium binary.",
    });
  }
  return browser;
}

/** Prints `html` (a self-contained document, e.g. `renderReportHtml(doc, { standalone: true })`) to PDF bytes. */
export async function renderPdf(html: string, opts: RenderPdfOptions = {}): Promise<Uint8Array> {
  opts.signal?.throwIfAborted();
  const browser = await findBrowser(opts.browser);
  const dir = await mkdtemp(join(tmpdir(), "vibewriter-pdf-"));
  try {
    const page = join(dir, "report.html");
    const pdf = join(dir, "report.pdf");
    await writeFile(page, walledIn(html), { mode: 0o600 });
    await runBrowser(browser, browserArgs(join(dir, "profile"), pdf, page, opts.tagged ?? true), dir, opts);
    let bytes: Buffer;
    try {
      bytes = await readFile(pdf);
    } catch (cause) {
      throw new ExportError(ExportErrorCode.PdfFailed, `${browser} exited without writing a PDF`, { cause });
    }
    if (bytes.subarray(0, 5).toString("latin1") !== "%PDF-") {
      throw new ExportError(ExportErrorCode.PdfFailed, `${browser} wrote a file that is not a PDF (${bytes.length} bytes)`);
    }
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs the browser to its end; kills its process group on timeout or abort. */
function runBrowser(browser: string, args: string[], home: string, opts: RenderPdfOptions): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise<void>((resolve, reject) => {
    const child = spawn(browser, args, {
      // Its own HOME and XDG folders inside the temporary folder: nothing of this user's is read or written.
      env: childEnv({ HOME: home, XDG_CONFIG_HOME: join(home, "config"), XDG_CACHE_HOME: join(home, "cache") }),
      stdio: ["ignore", "ignore", "pipe"],
      detached: true, // its own process group: the zygotes and renderers die with it
    });
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (s: string) => {
      stderr = (stderr + s).slice(-STDERR_TAIL);
    });
    let stopped: unknown;
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      stopped = new ExportError(ExportErrorCode.PdfFailed, `${browser} did not finish the PDF within ${timeoutMs >= 1000 ? `${Math.round(timeoutMs / 1000)} s` : `${timeoutMs} ms`}; it was stopped`);
      killGroup();
    }, timeoutMs);
    const onAbort = () => {
      stopped = opts.signal?.reason ?? new Error("aborted");
      killGroup();
    };
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    child.on("error", (cause) => {
      stopped ??= new ExportError(ExportErrorCode.PdfFailed, `could not start ${browser}: ${cause.message}`, { cause });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      killGroup(); // a helper that outlived the browser's main process
      // Settled only once the group is gone: a killed helper is still exiting a moment after close.
      void groupGone(child.pid).then(() => settle(code, signal));
    });
    const settle = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (stopped) return reject(stopped);
      if (code === 0) return resolve();
      const said = stderr
        .split("\n")
        .filter((l) => l.trim() && !/dbus|unexpected operator/i.test(l))
        .slice(-5)
        .join("\n");
      reject(new ExportError(ExportErrorCode.PdfFailed, `${browser} failed (${signal ?? `exit code ${code}`})${said ? `:\n${said}` : ""}`));
    };
  });
}

/** Waits (at most `withinMs`: a process stuck in the kernel) until no live process is left in the group. */
async function groupGone(pgid: number | undefined, withinMs = 5_000): Promise<void> {
  if (pgid === undefined) return;
  const until = Date.now() + withinMs;
  for (let delay = 1; liveInGroup(pgid) && Date.now() < until; delay = Math.min(delay * 2, 50)) {
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

function liveInGroup(pgid: number): boolean {
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = procStat(Number(name)); // undefined: exited meanwhile
    // A zombie is dead, only not reaped yet.
    if (stat && stat.state !== "Z" && stat.pgrp === pgid) return true;
  }
  return false;
}
