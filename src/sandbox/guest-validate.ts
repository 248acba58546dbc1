/**
 * Shape checks for everything the guest sends: it runs the model's commands, so it is untrusted.
 * A value that fails its check becomes a `protocol` GuestError instead of flowing on unchecked.
 */
import type { FileInfo, Op, OpMap } from "../guest/protocol.ts";
import { ERROR_CODES } from "../guest/protocol.ts";
import { GuestError, GuestErrorCode } from "./guest-error.ts";

type Check = (v: unknown) => boolean;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const num: Check = (v) => typeof v === "number" && Number.isFinite(v);
const int: Check = (v) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const string: Check = (v) => typeof v === "string";
const bool: Check = (v) => typeof v === "boolean";
const opt = (c: Check): Check => (v) => v === undefined || c(v);
const nullable = (c: Check): Check => (v) => v === null || c(v);
const arrayOf = (c: Check, max = 1_000_000): Check => (v) => Array.isArray(v) && v.length <= max && v.every(c);
const shape = (fields: Record<string, Check>): Check => (v) => isObj(v) && Object.entries(fields).every(([k, c]) => c(v[k]));
const errorCode: Check = (v) => typeof v === "string" && (ERROR_CODES as readonly string[]).includes(v);
const fileType: Check = (v) => v === "file" || v === "dir" || v === "symlink" || v === "other";
const viewPath: Check = (v) => typeof v === "string" && v.startsWith("/") && v.length <= 8192 && !v.includes("\0");

const fileInfo = shape({ path: viewPath, type: fileType, size: int, mtimeMs: num });
const empty = shape({});

const RESULT_CHECKS: { [O in Op]: Check } = {
  hello: shape({ protocolVersion: int, agentVersion: string, roots: arrayOf(shape({ path: viewPath, writable: bool })), pid: int, clockSet: opt(bool) }),
  exec: shape({ exitCode: nullable(num), signal: nullable(string), timedOut: bool, truncated: bool }),
  read: shape({ size: int, mtimeMs: num, ctimeMs: opt(num), totalLines: opt(int), blank: opt(bool) }),
  write: shape({ size: int, mtimeMs: num }),
  edit: shape({ occurrences: int, size: int, mtimeMs: num }),
  stat: fileInfo,
  ls: shape({ entries: arrayOf(fileInfo) }),
  glob: shape({ paths: arrayOf(fileInfo), truncated: bool }),
  grep: shape({ matches: arrayOf(shape({ path: viewPath, line: int, text: string })), truncated: bool }),
  delete: empty,
  mkdir: empty,
  upload: shape({ results: arrayOf(shape({ path: string, error: opt(errorCode), size: opt(int), mtimeMs: opt(num) })) }),
  download: shape({ files: arrayOf(shape({ path: string, size: int, error: opt(errorCode) })) }),
  manifest: shape({ files: arrayOf(fileInfo), truncated: bool }),
  cancel: empty,
};

export function checkResult<O extends Op>(op: O, value: unknown): OpMap[O]["result"] {
  if (!RESULT_CHECKS[op](value)) {
    throw new GuestError(GuestErrorCode.Protocol, `guest sent a malformed ${op} result: ${JSON.stringify(value).slice(0, 200)}`);
  }
  return value as OpMap[O]["result"];
}

/** Guest → host event header, checked. */
export type GuestEvent =
  | { id: number; ev: "start"; pid: number }
  | { id: number; ev: "data"; stream?: "stdout" | "stderr"; part?: number }
  | { id: number; ev: "result"; value: unknown }
  | { id: number; ev: "error"; code: GuestErrorCode; message: string }
  | { id: number; ev: "ready"; protocolVersion: number; agentVersion: string };

const EVENT_CHECKS: Record<string, Check> = {
  start: shape({ pid: int }),
  data: shape({ stream: opt((v) => v === "stdout" || v === "stderr"), part: opt(int) }),
  result: (v) => isObj(v) && "value" in v,
  error: shape({ code: errorCode, message: string }),
  ready: shape({ protocolVersion: int, agentVersion: string }),
};

export function checkEvent(header: unknown): GuestEvent {
  if (!isObj(header) || !int(header.id) || typeof header.ev !== "string" || !EVENT_CHECKS[header.ev]?.(header)) {
    throw new GuestError(GuestErrorCode.Protocol, `guest sent a malformed frame: ${JSON.stringify(header).slice(0, 200)}`);
  }
  return header as GuestEvent;
}

export type { FileInfo };
