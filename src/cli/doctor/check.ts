/**
 * The contract of a doctor check: a small async function that looks at one thing and returns a
 * `CheckResult` — never throws (a thrown error becomes a "missing" result with its message).
 */

export const CheckStatus = {
  /** Works as needed. */
  Ready: "ready",
  /** Works, but slower or with less than it could (e.g. TCG instead of KVM). */
  Degraded: "degraded",
  /** Absent or broken. Fails the doctor only when the check is `required`. */
  Missing: "missing",
} as const;
export type CheckStatus = (typeof CheckStatus)[keyof typeof CheckStatus];

export interface CheckResult {
  /** Stable id for `--json` consumers, e.g. "nats-server". */
  id: string;
  /** What was checked, for people. */
  title: string;
  status: CheckStatus;
  /** What was found (a version, a path, a reason). Never contains a secret. */
  detail: string;
  /** How to make it ready, when it is not. */
  fix?: string;
  /** Whether Vibewriter cannot do its main job without it. */
  required: boolean;
}

export interface DoctorReport {
  ok: boolean;
  checks: CheckResult[];
}

/** The doctor passes when no required check is missing. */
export function summarize(checks: CheckResult[]): DoctorReport {
  return { ok: checks.every((c) => !c.required || c.status !== CheckStatus.Missing), checks };
}

/** Runs a check, turning an unexpected throw into a "missing" result rather than a crash. */
export async function guard(
  meta: Pick<CheckResult, "id" | "title" | "required">,
  fn: () => Promise<Omit<CheckResult, "id" | "title" | "required">>,
): Promise<CheckResult> {
  try {
    return { ...meta, ...(await fn()) };
  } catch (e) {
    const err = e as Error & { code?: string };
    return {
      ...meta,
      status: CheckStatus.Missing,
      detail: `${err.code ? `${err.code}: ` : ""}${err.message ?? String(e)}`,
    };
  }
}
