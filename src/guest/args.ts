/** Checks on request arguments: the host is trusted more than the model, but not blindly. */
import { GuestAgentError } from "./errors.ts";
import { ErrorCode } from "../protocol/index.ts";

export function str(args: Record<string, unknown>, key: string): string {
  const v = args[key];
  if (typeof v !== "string") throw bad(`${key} must be a string`);
  return v;
}
export function optStr(args: Record<string, unknown>, key: string): string | undefined {
  const v = args[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw bad(`${key} must be a string`);
  return v;
}
export function optInt(args: Record<string, unknown>, key: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = args[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) throw bad(`${key} must be an integer in [${min}, ${max}]`);
  return v;
}
export function int(args: Record<string, unknown>, key: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = optInt(args, key, min, max);
  if (v === undefined) throw bad(`${key} is required`);
  return v;
}
export function optBool(args: Record<string, unknown>, key: string): boolean | undefined {
  const v = args[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw bad(`${key} must be a boolean`);
  return v;
}
export function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw bad(`${what} must be an object`);
  return v as Record<string, unknown>;
}
export function bad(message: string): GuestAgentError {
  return new GuestAgentError(ErrorCode.BadRequest, message);
}
