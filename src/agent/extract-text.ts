import { extractText, getDocumentProxy } from "unpdf";

/** Source formats Vibewriter reads, by what the bytes are (not only the file name). */
export const SourceKind = {
  Markdown: "markdown",
  Text: "text",
  Html: "html",
  Pdf: "pdf",
} as const;
export type SourceKind = (typeof SourceKind)[keyof typeof SourceKind];

const EXT_KIND: Record<string, SourceKind> = {
  ".md": SourceKind.Markdown,
  ".markdown": SourceKind.Markdown,
  ".txt": SourceKind.Text,
  ".text": SourceKind.Text,
  ".html": SourceKind.Html,
  ".htm": SourceKind.Html,
  ".pdf": SourceKind.Pdf,
};

/** Why a file cannot be a source; `null` when it can. */
export type Refusal = { reason: "binary" | "unsupported" | "unreadable"; detail: string };

const PDF_MAGIC = "%PDF-";

function looksBinary(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 64 * 1024);
  let control = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (b === 0) return true;
    if (b < 8 || (b > 13 && b < 32 && b !== 27)) control++;
  }
  return n > 0 && control / n > 0.02;
}

/** Classify a file by extension and content. Binary content is refused whatever the name says. */
export function classify(name: string, bytes: Uint8Array): SourceKind | Refusal {
  const lower = name.toLowerCase();
  const ext = lower.includes(".") ? lower.slice(lower.lastIndexOf(".")) : "";
  const isPdf = new TextDecoder().decode(bytes.subarray(0, 5)) === PDF_MAGIC;
  if (isPdf) return SourceKind.Pdf;
  if (ext === ".pdf") return { reason: "unreadable", detail: "named .pdf but is not a PDF" };
  if (looksBinary(bytes)) return { reason: "binary", detail: "binary content (not text, markdown, HTML or PDF)" };
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return { reason: "binary", detail: "not valid UTF-8 text" };
  }
  const kind = EXT_KIND[ext];
  if (kind) return kind;
  if (/^\s*<(!doctype html|html)/i.test(new TextDecoder().decode(bytes.subarray(0, 512)))) return SourceKind.Html;
  return SourceKind.Text;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " ", mdash: "—", ndash: "–", hellip: "…", rsquo: "’", lsquo: "‘", rdquo: "”", ldquo: "“" };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === "#") {
      const code = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : m;
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

/** HTML to readable text: drops scripts, styles and tags; block elements become line breaks. */
export function htmlToText(html: string): { text: string; title?: string } {
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1];
  const body = html
    .replace(/<!--[\s\S]*?-->/g, "")
    .replace(/<(script|style|noscript|template|svg|head)\b[\s\S]*?<\/\1\s*>/gi, "")
    .replace(/<br\s*\/?>/gi, "\n")
    .replace(/<\/?(p|div|section|article|header|footer|h[1-6]|li|ul|ol|tr|table|blockquote|pre|hr)\b[^>]*>/gi, "\n")
    .replace(/<(td|th)\b[^>]*>/gi, " ")
    .replace(/<[^>]+>/g, "");
  const text = decodeEntities(body)
    .split("\n")
    .map((l) => l.replace(/[ \t\f\v\r]+/g, " ").trim())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
  const t = title ? decodeEntities(title).replace(/\s+/g, " ").trim() : undefined;
  return t ? { text, title: t } : { text };
}

/** The text of a classified source. PDFs go through unpdf (pdf.js), pages joined by blank lines. */
export async function extractSourceText(kind: SourceKind, bytes: Uint8Array): Promise<{ text: string; title?: string }> {
  switch (kind) {
    case SourceKind.Pdf: {
      const pdf = await getDocumentProxy(new Uint8Array(bytes));
      const { text } = await extractText(pdf, { mergePages: false });
      return { text: (text as string[]).join("\n\n").trim() };
    }
    case SourceKind.Html:
      return htmlToText(new TextDecoder().decode(bytes));
    case SourceKind.Markdown:
    case SourceKind.Text: {
      const text = new TextDecoder().decode(bytes).replace(/^\uFEFF/, "");
      const heading = /^#\s+(.+)$/m.exec(text)?.[1]?.trim();
      return heading ? { text, title: heading } : { text };
    }
  }
}
