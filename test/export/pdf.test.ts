/**
 * `renderPdf` with Debian's real chromium (headless): the PDF opens and `pdftotext` finds every
 * footnote's quote and the summary; the browser loads nothing from the network. A stand-in browser
 * (a shell script) shows what the child gets: no secrets, a temporary HOME removed afterwards, and
 * a process group killed on timeout or abort.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ExportError } from "../../src/export/errors.ts";
import { renderReportHtml } from "../../src/export/html.ts";
import { renderPdf } from "../../src/export/pdf.ts";
import { buildReportDocument } from "../../src/export/report-document.ts";
import { northwindReport, northwindSources, storedSources } from "./fixture.ts";

const PDFTOTEXT = "/usr/bin/pdftotext";
/** A real browser under load (the VM lane beside this one) takes 5–15 s; its own deadline is 120 s. */
const BROWSER_TEST_MS = 180_000;
const one = (s: string) => s.replace(/\s+/g, " ").trim();

/** The text of a PDF, whitespace collapsed (lines wrap where the page ends). */
async function pdfText(pdf: Uint8Array, dir: string): Promise<string> {
  if (!existsSync(PDFTOTEXT)) throw new Error(`${PDFTOTEXT} is missing: install poppler-utils (apt-get install --no-install-recommends poppler-utils)`);
  const file = join(dir, "report.pdf");
  await writeFile(file, pdf);
  const { stdout } = await promisify(execFile)(PDFTOTEXT, ["-enc", "UTF-8", file, "-"]);
  return one(stdout);
}

/** `pdfinfo`'s report on a PDF (pages, tagging …). */
async function pdfInfo(pdf: Uint8Array, dir: string): Promise<string> {
  const file = join(dir, "info.pdf");
  await writeFile(file, pdf);
  return (await promisify(execFile)("/usr/bin/pdfinfo", [file])).stdout;
}

/** True once the process is gone (a zombie waiting for its reaper counts as gone). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  return / Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^\d+ \(.*\)/, ""));
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "vw-pdf-test-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("PDF export with headless chromium", () => {
  it("prints the report: the PDF opens and every footnote's quote, its mark and the summary are in its text", async () => {
    const s = await northwindSources();
    const report = northwindReport(s) + `\nA rumour says it will be sold [[src:feedfacefeed|"Northwind will be sold by spring."]].\n`;
    const doc = buildReportDocument("nw-pdf", report, storedSources(s.results, s.press));
    const pdf = await renderPdf(renderReportHtml(doc, { standalone: true }));

    expect(Buffer.from(pdf.subarray(0, 5)).toString("latin1")).toBe("%PDF-");
    const text = await pdfText(pdf, dir);
    expect(text).toContain("Northwind: Q3 due diligence");
    expect(doc.footnotes).toHaveLength(5);
    for (const f of doc.footnotes) expect(text).toContain(f.quote);
    expect(text).toContain("not verified: no stored source has this id");
    expect(text).toContain("5 citations, 4 verified against stored sources, 1 not verified");
    expect(text).toContain("Sources");
    expect(text).toContain("Northwind opens Columbus centre");
    expect(await pdfInfo(pdf, dir)).toMatch(/^Tagged: +yes$/m); // structure for screen readers, by default
  }, BROWSER_TEST_MS);

  it("a huge report (2000 citations) as an untagged PDF: every quote is in it", async () => {
    const id = "0123456789ab";
    const n = 2000;
    const text = Array.from({ length: n }, (_, i) => `Measurement ${i} reads ${i * 7} units.`).join(" ");
    const report = "# Measurements\n\n" + Array.from({ length: n }, (_, i) => `Point ${i} [[src:${id}|"Measurement ${i} reads ${i * 7} units."]].`).join("\n\n");
    const doc = buildReportDocument("huge", report, new Map([[id, { title: "Instrument log", text }]]));
    const pdf = await renderPdf(renderReportHtml(doc, { standalone: true }), { tagged: false });
    const printed = await pdfText(pdf, dir);
    const found = new Set(printed.match(/Measurement \d+ reads \d+ units\./g));
    for (const f of doc.footnotes) expect(found.has(f.quote), f.quote).toBe(true);
    expect(found.size).toBe(n);
    expect(printed).toContain("2000 citations, 2000 verified against stored sources");
    expect(await pdfInfo(pdf, dir)).toMatch(/^Tagged: +no$/m);
  }, BROWSER_TEST_MS);

  it("loads nothing: images, styles, frames and scripts pointing at a server on this machine are never requested", async () => {
    const requests: string[] = [];
    const server: Server = createServer((req, res) => {
      requests.push(req.url ?? "");
      res.end("x");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const base = `http://127.0.0.1:${port}`;
      const html =
        `<!doctype html><html><head><title>t</title><link rel="stylesheet" href="${base}/style.css"><script src="${base}/app.js"></script></head>` +
        `<body><p>Offline page</p><img src="${base}/pixel.png"><img src="http://localhost:${port}/named.png"><iframe src="${base}/frame"></iframe>` +
        `<script>fetch("${base}/fetch")</script></body></html>`;
      const pdf = await renderPdf(html);
      expect(await pdfText(pdf, dir)).toContain("Offline page");
      expect(requests).toEqual([]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }, BROWSER_TEST_MS);

  it("says which package to install when there is no browser", async () => {
    const missing = renderPdf("<p>x</p>", { browser: "/nonexistent/chromium" });
    await expect(missing).rejects.toThrow(ExportError);
    await expect(missing).rejects.toMatchObject({
      code: "browser_missing",
      message: "cannot print a PDF: no browser at /nonexistent/chromium",
      fix: expect.stringContaining("apt-get install --no-install-recommends chromium"),
    });
    const saved = process.env.VIBEWRITER_CHROMIUM;
    process.env.VIBEWRITER_CHROMIUM = "/nonexistent/from-env";
    try {
      await expect(renderPdf("<p>x</p>")).rejects.toMatchObject({ code: "browser_missing", message: expect.stringContaining("/nonexistent/from-env") });
    } finally {
      if (saved === undefined) delete process.env.VIBEWRITER_CHROMIUM;
      else process.env.VIBEWRITER_CHROMIUM = saved;
    }
  });
});

describe("the browser process", () => {
  let fake: string;
  let fifo: string;
  const secrets = { VIBEWRITER_WALLET_PASSPHRASE: "wallet-passphrase-for-no-child", ANTHROPIC_API_KEY: "sk-ant-test-key-for-no-child" };
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    // A stand-in browser: a helper in its process group, then it reports its pids, HOME and
    // environment through a FIFO (the test reads it: no timing) and waits forever.
    fifo = join(dir, "report.fifo");
    execFileSync("mkfifo", [fifo]);
    fake = join(dir, "fake-chromium");
    await writeFile(fake, `#!/bin/sh\nsleep 3600 &\n{ echo "pids $$ $!"; echo "home $HOME"; env; } > ${fifo}\nwait\n`);
    await chmod(fake, 0o755);
    for (const [k, v] of Object.entries(secrets)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  async function started(): Promise<{ pids: number[]; home: string; env: string }> {
    const report = await readFile(fifo, "utf8");
    const pids = /^pids (\d+) (\d+)$/m.exec(report)!.slice(1).map(Number);
    const home = /^home (.+)$/m.exec(report)![1]!;
    return { pids, home, env: report };
  }

  it("gets no secrets and a temporary HOME, and an abort kills its whole process group and removes the folder", async () => {
    const abort = new AbortController();
    const pdf = renderPdf("<p>x</p>", { browser: fake, signal: abort.signal });
    const { pids, home, env } = await started();
    expect(env).not.toContain(secrets.VIBEWRITER_WALLET_PASSPHRASE);
    expect(env).not.toContain(secrets.ANTHROPIC_API_KEY);
    expect(env).not.toMatch(/^(VIBEWRITER_WALLET_PASSPHRASE|ANTHROPIC_API_KEY|NATS_URL)=/m);
    expect(home.startsWith(join(tmpdir(), "vibewriter-pdf-"))).toBe(true);
    expect(existsSync(join(home, "report.html"))).toBe(true);

    abort.abort(new Error("stopped by the test"));
    await expect(pdf).rejects.toThrow("stopped by the test");
    expect(existsSync(home)).toBe(false);
    for (const pid of pids) expect(gone(pid), `pid ${pid}`).toBe(true);
  });

  it("a browser that never finishes is stopped at the deadline, with its helpers", async () => {
    const pdf = renderPdf("<p>x</p>", { browser: fake, timeoutMs: 300 });
    const { pids, home } = await started();
    await expect(pdf).rejects.toMatchObject({ code: "pdf_failed", message: `${fake} did not finish the PDF within 300 ms; it was stopped` });
    expect(existsSync(home)).toBe(false);
    for (const pid of pids) expect(gone(pid), `pid ${pid}`).toBe(true);
  });
});
