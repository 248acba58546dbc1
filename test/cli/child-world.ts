import { startTestNats, type TestNats } from "../support/nats.ts";
import { killAll } from "./child.ts";
import { EventObserver } from "./event-observer.ts";
import { requireGuestImage } from "./guest-image.ts";

/**
 * What the child-process CLI tests share: a real nats-server the children reach through
 * `NATS_URL`, an observer of every event publish, and the pids to kill if a test fails midway.
 * Registers its own beforeAll/afterAll in the calling describe block.
 */
export interface CliChildWorld {
  readonly nats: TestNats;
  readonly observer: EventObserver;
  readonly leftovers: number[];
  env(): NodeJS.ProcessEnv;
}

export function useCliChildWorld(): CliChildWorld {
  let nats: TestNats | undefined;
  let observer: EventObserver | undefined;
  const leftovers: number[] = [];
  beforeAll(async () => {
    await requireGuestImage();
    nats = await startTestNats();
    observer = new EventObserver(nats.nc);
  });
  afterAll(async () => {
    killAll(leftovers);
    observer?.close();
    await nats?.close();
  });
  return {
    get nats() {
      return nats!;
    },
    get observer() {
      return observer!;
    },
    leftovers,
    env: () => ({ ...process.env, NATS_URL: nats!.server.url, VIBEWRITER_SCRIPTED_MODEL: "demo" }),
  };
}
