export { startNatsServer, natsServerVersion, type NatsServer, type StartNatsServerOptions } from "./server.ts";
export { connectNats, natsOptionsFromEnv, redactUrl, type ConnectNatsOptions } from "./connection.ts";
export { openBackbone, openOnConnection, type Backbone, type OpenBackboneOptions } from "./backbone.ts";
export { Names, stateStreamConfig, eventsStreamConfig, ensureStream } from "./streams.ts";
export { AckedPublisher, publishAcked, type AckedPublishOptions, type AckedPublishResult } from "./publish.ts";
export { encodeToken, decodeToken } from "./subject-token.ts";
export { JetStreamCheckpointSaver, type JetStreamCheckpointSaverOptions } from "./checkpointer.ts";
export { MessageMemoSerializer } from "./message-serde.ts";
export { JetStreamStore, type JetStreamStoreOptions } from "./store.ts";
export {
  ArtifactStore,
  MAX_ARTIFACT_NAME_BYTES,
  type ArtifactContent,
  type ArtifactInfo,
  type ArtifactReader,
  type ArtifactStoreOptions,
} from "./artifacts.ts";
export { artifactBlobs, type ArtifactBlobs } from "./artifact-blobs.ts";
export { EventLog, type EventSubscription, type SubscribeOptions } from "./events.ts";
export * from "./event-types.ts";
export { NatsBackboneError, NatsErrorCode } from "./errors.ts";
