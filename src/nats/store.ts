import {
  BaseStore,
  JsonPlusSerializer,
  type GetOperation,
  type Item,
  type ListNamespacesOperation,
  type MatchCondition,
  type Operation,
  type OperationResults,
  type PutOperation,
  type SearchItem,
  type SearchOperation,
} from "@langchain/langgraph-checkpoint";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";
import { decodeFrame, encodeFrame } from "./frame.ts";
import { readStream } from "./read-stream.ts";
import { encodeToken } from "./subject-token.ts";
import { kvStreamName, kvSubjectPrefix } from "./streams.ts";

/** What is stored per KV entry (the JSON part of a frame; the value bytes follow). */
interface StoredItemHeader {
  ns: string[];
  key: string;
  ty: string;
  c: string;
  u: string;
}

export interface JetStreamStoreOptions {
  kv: KV;
  js: JetStreamClient;
  /** The bucket's name, e.g. `VIBEWRITER_MEMORY` (its stream is `KV_<bucket>`). */
  bucket: string;
}

/**
 * LangGraph `BaseStore` on a JetStream KV bucket: long-term memory that outlives threads (what
 * deepagents' `StoreBackend` keeps under `/memories/`). An item lives at the KV key
 * `<namespace labels…>.<key>`, each part encoded so any string works (KV keys allow only
 * `[-/=.\w]`); the full namespace and key are kept in the entry, with createdAt/updatedAt.
 * Values go through LangGraph's JSON serializer, so bytes, Maps, Sets and dates survive.
 *
 * Search is by namespace prefix (one read of the bucket's current values under that prefix), then
 * the filter (`{field: value}` or `$eq/$ne/$gt/$gte/$lt/$lte/$in/$nin`), then `query` as a
 * case-insensitive substring of the value's JSON; there is no vector index, so `score` is absent.
 */
export class JetStreamStore extends BaseStore {
  readonly #kv: KV;
  readonly #js: JetStreamClient;
  readonly #stream: string;
  readonly #subjectPrefix: string;
  readonly #serde = new JsonPlusSerializer();

  constructor(opts: JetStreamStoreOptions) {
    super();
    this.#kv = opts.kv;
    this.#js = opts.js;
    this.#stream = kvStreamName(opts.bucket);
    this.#subjectPrefix = kvSubjectPrefix(opts.bucket);
  }

  async batch<Op extends Operation[]>(operations: Op): Promise<OperationResults<Op>> {
    const results = await Promise.all(
      operations.map((op) => {
        if ("key" in op && "namespace" in op && !("value" in op)) return this.#get(op as GetOperation);
        if ("value" in op) return this.#put(op as PutOperation);
        if ("namespacePrefix" in op) return this.#search(op as SearchOperation);
        if ("matchConditions" in op || "maxDepth" in op || "limit" in op) return this.#listNamespaces(op as ListNamespacesOperation);
        throw new NatsBackboneError(NatsErrorCode.InvalidArgument, `unknown store operation: ${JSON.stringify(op)}`);
      }),
    );
    return results as OperationResults<Op>;
  }

  #kvKey(namespace: string[], key: string): string {
    checkNamespace(namespace);
    if (typeof key !== "string") throw new NatsBackboneError(NatsErrorCode.InvalidName, "store key must be a string");
    return [...namespace.map(encodeToken), encodeToken(key)].join(".");
  }

  async #decode(data: Uint8Array): Promise<Item> {
    const { header, parts } = decodeFrame<StoredItemHeader>(data);
    return {
      namespace: header.ns,
      key: header.key,
      value: await this.#serde.loadsTyped(header.ty, parts[0]),
      createdAt: new Date(header.c),
      updatedAt: new Date(header.u),
    };
  }

  async #get(op: GetOperation): Promise<Item | null> {
    const entry = await this.#kv.get(this.#kvKey(op.namespace, op.key));
    if (!entry || entry.operation !== "PUT" || entry.length === 0) return null;
    return this.#decode(entry.value);
  }

  async #put(op: PutOperation): Promise<void> {
    const k = this.#kvKey(op.namespace, op.key);
    if (op.value === null) {
      await this.#kv.delete(k);
      return;
    }
    const previous = await this.#kv.get(k);
    const now = new Date().toISOString();
    let created = now;
    if (previous && previous.operation === "PUT" && previous.length > 0) {
      created = decodeFrame<StoredItemHeader>(previous.value).header.c;
    }
    const [ty, bytes] = await this.#serde.dumpsTyped(op.value);
    const header: StoredItemHeader = { ns: op.namespace, key: op.key, ty, c: created, u: now };
    await this.#kv.put(k, encodeFrame(header, [bytes]));
  }

  /** Current items whose namespace starts with `prefix`. */
  async #scan(prefix: string[]): Promise<Item[]> {
    const filter = [this.#subjectPrefix, ...prefix.map(encodeToken), ">"].join(".");
    const raw: Uint8Array[] = [];
    await readStream(
      this.#js,
      this.#stream,
      filter,
      (m) => {
        const op = m.headers?.get("KV-Operation");
        if (op === "DEL" || op === "PURGE" || m.data.length === 0) return;
        raw.push(m.data);
      },
      { lastPerSubject: true },
    );
    const items = await Promise.all(raw.map((d) => this.#decode(d)));
    // An encoded prefix can also match a hashed long label: check the real namespace.
    return items.filter((it) => prefix.every((p, i) => it.namespace[i] === p));
  }

  async #search(op: SearchOperation): Promise<SearchItem[]> {
    if (op.namespacePrefix.length > 0) checkNamespace(op.namespacePrefix);
    let items = await this.#scan(op.namespacePrefix);
    if (op.filter) {
      const entries = Object.entries(op.filter);
      items = items.filter((it) => entries.every(([k, v]) => compareValues((it.value as Record<string, unknown>)[k], v)));
    }
    if (op.query) {
      const q = op.query.toLowerCase();
      items = items.filter((it) => JSON.stringify(it.value).toLowerCase().includes(q));
    }
    items.sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime());
    const offset = op.offset ?? 0;
    return items.slice(offset, offset + (op.limit ?? 10));
  }

  async #listNamespaces(op: ListNamespacesOperation): Promise<string[][]> {
    const items = await this.#scan([]);
    const seen = new Map<string, string[]>();
    for (const it of items) {
      let ns = it.namespace;
      if (op.matchConditions?.length && !op.matchConditions.every((c) => matches(c, ns))) continue;
      if (op.maxDepth !== undefined) ns = ns.slice(0, op.maxDepth);
      seen.set(JSON.stringify(ns), ns);
    }
    const all = [...seen.values()].sort((a, b) => (a.join("\u0000") < b.join("\u0000") ? -1 : 1));
    const offset = op.offset ?? 0;
    return all.slice(offset, offset + (op.limit ?? all.length));
  }
}

function checkNamespace(namespace: unknown): asserts namespace is string[] {
  if (!Array.isArray(namespace) || namespace.length === 0) {
    throw new NatsBackboneError(NatsErrorCode.InvalidName, "store namespace must be a non-empty array of strings");
  }
  namespace.forEach((label, i) => {
    if (typeof label !== "string" || label === "") {
      throw new NatsBackboneError(NatsErrorCode.InvalidName, `store namespace label ${i} must be a non-empty string`);
    }
  });
}

function matches(cond: MatchCondition, ns: string[]): boolean {
  const { matchType, path } = cond;
  if (path.length > ns.length) return false;
  const offset = matchType === "suffix" ? ns.length - path.length : 0;
  return path.every((p, i) => p === "*" || ns[offset + i] === p);
}

const OPERATORS = new Set(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin"]);

/** LangGraph's filter semantics (as in its InMemoryStore). */
function compareValues(itemValue: unknown, filterValue: unknown): boolean {
  if (
    typeof filterValue === "object" &&
    filterValue !== null &&
    !Array.isArray(filterValue) &&
    Object.keys(filterValue).length > 0 &&
    Object.keys(filterValue).every((k) => OPERATORS.has(k))
  ) {
    return Object.entries(filterValue).every(([op, value]) => {
      switch (op) {
        case "$eq":
          return itemValue === value;
        case "$ne":
          return itemValue !== value;
        case "$gt":
          return Number(itemValue) > Number(value);
        case "$gte":
          return Number(itemValue) >= Number(value);
        case "$lt":
          return Number(itemValue) < Number(value);
        case "$lte":
          return Number(itemValue) <= Number(value);
        case "$in":
          return Array.isArray(value) && value.includes(itemValue);
        case "$nin":
          return !Array.isArray(value) || !value.includes(itemValue);
        default:
          return false;
      }
    });
  }
  if (typeof itemValue === "object" && itemValue !== null) return JSON.stringify(itemValue) === JSON.stringify(filterValue);
  return itemValue === filterValue;
}
