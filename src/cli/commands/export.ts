/**
 * `vibewriter export ID`: a thread's published report as a document to forward — standalone
 * HTML, PDF or markdown with footnotes — verified again against the stored sources while
 * exporting. Reads only: the viewer identity is enough.
 */
import { access, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  ExportError,
  ExportErrorCode,
  loadReportDocument,
  renderPdf,
  renderReportHtml,
  renderReportMarkdown,
  TAGGED_PDF_MAX_FOOTNOTES,
  type ReportDocument,
} from "../../export/index.ts";
import { openCliBackbone } from "../backbone.ts";
import { printJson, type CliContext } from "../context.ts";
import { CliError, CliErrorCode } from "../errors.ts";
import { notFoundOr } from "../not-found.ts";
import type { CommandPlan, ExportFormat } from "../plan.ts";

type ExportPlan = Extract<CommandPlan, { command: "export" }>;

/** The export's errors as the user's: no report is "not found", no browser is "not configured". */
function asCliError(e: unknown): unknown {
  if (ExportError.isInstance(e, ExportErrorCode.NoReport)) return new CliError(CliErrorCode.NotFound, e.message, { cause: e, fix: e.fix });
  if (ExportError.isInstance(e, ExportErrorCode.BrowserMissing)) return new CliError(CliErrorCode.NotConfigured, e.message, { cause: e, fix: e.fix });
  return notFoundOr(e);
}

function refuseOverwrite(file: string, cause?: unknown): CliError {
  return new CliError(CliErrorCode.Failed, `${file} already exists; export does not overwrite files`, {
    cause,
    fix: "Pass --force to replace it, or choose another file with --out.",
  });
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(() => true, () => false);
}

async function render(doc: ReportDocument, format: ExportFormat, signal: AbortSignal): Promise<string | Uint8Array> {
  if (format === "md") return renderReportMarkdown(doc);
  const html = renderReportHtml(doc, { standalone: true });
  return format === "pdf" ? renderPdf(html, { signal, tagged: doc.footnotes.length <= TAGGED_PDF_MAX_FOOTNOTES }) : html;
}

export async function runExport(plan: ExportPlan, ctx: CliContext): Promise<number> {
  const out = plan.out ?? (plan.format === "pdf" ? resolve(ctx.cwd, `${plan.threadId}.pdf`) : undefined);
  // Refused before any work; the write below refuses again if the file appeared meanwhile.
  if (out && !plan.force && (await exists(out))) throw refuseOverwrite(out);

  const backbone = await openCliBackbone(ctx);
  let doc: ReportDocument;
  let content: string | Uint8Array;
  try {
    doc = await loadReportDocument(backbone, plan.threadId);
    content = await render(doc, plan.format, ctx.signal);
  } catch (e) {
    throw asCliError(e);
  }
  const bytes = typeof content === "string" ? Buffer.byteLength(content) : content.length;

  if (out) {
    try {
      await writeFile(out, content, { flag: plan.force ? "w" : "wx" });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") throw refuseOverwrite(out, e);
      throw new CliError(CliErrorCode.Failed, `could not write ${out}: ${(e as Error).message}`, { cause: e });
    }
  }
  const { citations, verified, summary } = doc.verification;
  if (plan.json) {
    printJson(ctx, {
      ok: true,
      threadId: plan.threadId,
      format: plan.format,
      title: doc.title,
      ...(out ? { out } : { content }),
      bytes,
      footnotes: doc.footnotes.length,
      sources: doc.sources.length,
      verification: doc.verification,
    });
  } else if (out) {
    ctx.stdout.write(`Exported the report of thread ${plan.threadId} to ${out} (${plan.format}, ${bytes} bytes): ${summary}.\n`);
  } else {
    ctx.stdout.write(content as string);
  }
  if (verified < citations && !plan.json) {
    ctx.stderr.write(`vibewriter: warning: ${citations - verified} of ${citations} citations did not verify against the stored sources; they are marked "not verified" in the export.\n`);
  }
  return 0;
}
