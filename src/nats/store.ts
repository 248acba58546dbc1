import { BaseStore, type Operation, type OperationResults } from "@langchain/langgraph-checkpoint";
import type { KV } from "@nats-io/kv";

/** WIP skeleton: the real implementation follows. */
export class JetStreamStore extends BaseStore {
  constructor(readonly kv: KV) { super(); }
  async batch<Op extends Operation[]>(_operations: Op): Promise<OperationResults<Op>> { throw new Error("not implemented yet"); }
}
