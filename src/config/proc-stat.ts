import { readFileSync } from "node:fs";

/**
 * What `/proc/<pid>/stat` says of a process: its state letter ("Z" for a zombie), its process group
 * (field 5) and its start time (clock ticks since boot, field 22). Undefined when the process is
 * gone or there is no /proc.
 */
export function procStat(pid: number): { state: string; pgrp: number; start: number | undefined } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count from the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const start = Number(fields[19]);
  return { state: fields[0] ?? "", pgrp: Number(fields[2]), start: Number.isFinite(start) ? start : undefined };
}

/** The process exists and has not exited (a zombie, exited but not yet reaped, has a stat too). */
export function processRunning(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== "Z";
}

/** Whether process `pid` exists, zombies included (EPERM: it does, owned by someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
