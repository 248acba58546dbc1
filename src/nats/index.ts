export { startNatsServer, natsServerVersion, type NatsServer, type StartNatsServerOptions } from "./server.ts";
export { connectNats, natsOptionsFromEnv, redactUrl, type ConnectNatsOptions } from "./connection.ts";
export { openBackbone, openOnConnection, type Backbone, type OpenBackboneOptions } from "./backbone.ts";
export { Names, stateStreamConfig, eventsStreamConfig, ensureStream } from "./streams.ts";
export { JetStreamCheckpointSaver } from "./checkpointer.ts";
export { JetStreamStore } from "./store.ts";
export { ArtifactStore } from "./artifacts.ts";
export { EventLog } from "./events.ts";
export { NatsBackboneError, NatsErrorCode } from "./errors.ts";
