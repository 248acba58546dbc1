/** The doctor's report for people. `--json` prints the `DoctorReport` itself instead. */
import { CheckStatus, type DoctorReport } from "./check.ts";

const MARK: Record<CheckStatus, string> = { ready: "ok  ", degraded: "slow", missing: "MISS" };

export function renderDoctorReport(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.title.length));
  const lines = ["vibewriter doctor", ""];
  for (const c of report.checks) {
    const mark = c.status === CheckStatus.Missing && !c.required ? "off " : MARK[c.status];
    lines.push(`  [${mark}] ${c.title.padEnd(width)}  ${c.detail}`);
    if (c.fix && c.status !== CheckStatus.Ready) {
      const indent = " ".repeat(width + 11);
      lines.push(`${indent}fix: ${c.fix.replace(/\n/g, `\n${indent}     `)}`);
    }
  }
  lines.push("");
  const missing = report.checks.filter((c) => c.required && c.status === CheckStatus.Missing);
  const optional = report.checks.filter((c) => !c.required && c.status !== CheckStatus.Ready);
  if (report.ok) {
    lines.push("Ready." + (optional.length ? ` Optional: ${optional.map((c) => c.title).join(", ")} (see above).` : ""));
  } else {
    lines.push(`Not ready: ${missing.map((c) => c.title).join(", ")}. Apply the fixes above and run \`vibewriter doctor\` again.`);
  }
  return lines.join("\n") + "\n";
}
