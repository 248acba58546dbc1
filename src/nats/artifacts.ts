import type { ObjectStore } from "@nats-io/obj";

/** WIP skeleton: the real implementation follows. */
export class ArtifactStore {
  constructor(readonly os: ObjectStore) {}
}
