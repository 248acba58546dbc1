import { BaseCheckpointSaver, type Checkpoint, type CheckpointListOptions, type CheckpointMetadata, type CheckpointTuple, type PendingWrite, type ChannelVersions } from "@langchain/langgraph-checkpoint";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";

export interface JetStreamCheckpointSaverOptions { nc: NatsConnection; js: JetStreamClient; jsm: JetStreamManager }

/** WIP skeleton: the real implementation follows. */
export class JetStreamCheckpointSaver extends BaseCheckpointSaver {
  constructor(readonly opts: JetStreamCheckpointSaverOptions) { super(); }
  async getTuple(_config: RunnableConfig): Promise<CheckpointTuple | undefined> { throw new Error("not implemented yet"); }
  async *list(_config: RunnableConfig, _options?: CheckpointListOptions): AsyncGenerator<CheckpointTuple> { throw new Error("not implemented yet"); }
  async put(_config: RunnableConfig, _checkpoint: Checkpoint, _metadata: CheckpointMetadata, _newVersions: ChannelVersions): Promise<RunnableConfig> { throw new Error("not implemented yet"); }
  async putWrites(_config: RunnableConfig, _writes: PendingWrite[], _taskId: string): Promise<void> { throw new Error("not implemented yet"); }
  async deleteThread(_threadId: string): Promise<void> { throw new Error("not implemented yet"); }
}
