import { validate } from "@langchain/langgraph-checkpoint-validation";
import { JetStreamCheckpointSaver } from "../../src/nats/checkpointer.ts";
import { stateStreamConfig } from "../../src/nats/streams.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";

// The upstream conformance suite (718 tests), against a real nats-server. Each checkpointer gets
// its own stream so suites that list "all threads" see only their own data.
let t: TestNats | undefined;
let n = 0;

validate<JetStreamCheckpointSaver>({
  checkpointerName: "JetStreamCheckpointSaver",
  beforeAllTimeout: 60_000,
  async beforeAll() {
    t = await startTestNats();
  },
  async afterAll() {
    await t?.close();
  },
  async createCheckpointer() {
    if (!t) throw new Error("nats-server did not start");
    n += 1;
    const stream = `VALIDATION_${n}`;
    const subjectPrefix = `validation${n}.state`;
    await t.backbone.jsm.streams.add({ ...stateStreamConfig(), name: stream, subjects: [`${subjectPrefix}.>`] });
    const { nc, js, jsm } = t.backbone;
    return new JetStreamCheckpointSaver({ nc, js, jsm, stream, subjectPrefix });
  },
  async destroyCheckpointer(saver) {
    await saver.close();
    await t?.backbone.jsm.streams.delete(saver.stream);
  },
});
