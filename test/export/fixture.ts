/**
 * A small research thread for the export tests: two sources made the way `--sources` and
 * `fetch_url` make them (content-derived ids, extracted titles) and a report citing them.
 */
import { sourceFromBytes, type Source } from "../../src/agent/sources.ts";
import type { StoredSource } from "../../src/export/report-document.ts";

const enc = (s: string) => new TextEncoder().encode(s);

export async function northwindSources(): Promise<{ results: Source; press: Source }> {
  const results = await sourceFromBytes(
    "northwind-q3.md",
    enc(
      "# Northwind Q3 results\n\nNorthwind's revenue grew 12% year over year,\nto $48.2 million. Operating margin fell to 7.5% as freight costs rose.\n" +
        "The board approved a dividend of $0.40 per share.\n",
    ),
  );
  const press = await sourceFromBytes(
    "https://example.org/northwind/press",
    enc(
      "<!doctype html><html><head><title>Northwind opens Columbus centre</title></head><body>" +
        "<p>Northwind opened its third distribution centre in Columbus, Ohio, in August.</p>" +
        "<p>The centre employs 140 people.</p></body></html>",
    ),
  );
  return { results, press };
}

/** A report that cites both sources, one of them twice, with a quote that spans a line break. */
export function northwindReport(s: { results: Source; press: Source }): string {
  return [
    "# Northwind: Q3 due diligence",
    "",
    `Revenue grew by 12% [[src:${s.results.id}|"Northwind's revenue grew 12% year over year,`,
    `to $48.2 million."]], while the margin narrowed [[src:${s.results.id}|"Operating margin fell to 7.5% as freight costs rose."]].`,
    "",
    "## Operations",
    "",
    `A third distribution centre opened in Ohio [[src:${s.press.id}|"Northwind opened its third distribution centre in Columbus, Ohio, in August."]].`,
    `It employs 140 people [[src:${s.press.id}|"The centre employs 140 people."]].`,
    "",
  ].join("\n");
}

/** Sources as `buildReportDocument` takes them. */
export function storedSources(...sources: Source[]): Map<string, StoredSource> {
  return new Map(sources.map((s) => [s.id, { ...(s.title ? { title: s.title } : {}), origin: s.origin, text: s.text }]));
}
