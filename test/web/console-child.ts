/**
 * `vibewriter web` as the owner starts it: a real child process on a real nats-server, with the
 * login URLs it prints. Restart it on the same port and state dir to test what survives.
 */
import { spawnCli, type CliChild } from "../cli/child.ts";

/** `Console: http://127.0.0.1:PORT/?token=TOKEN` (32 random bytes are 43 base64url characters). */
const OWNER_URL = /Console: (http:\/\/127\.0\.0\.1:(\d+))\/\?token=[A-Za-z0-9_-]{43}/;
const VIEWER_URL = /Viewer \(read-only\): (http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43})/;

export interface ConsoleChild {
  cli: CliChild;
  /** `http://127.0.0.1:PORT` */
  origin: string;
  port: number;
  ownerLoginUrl: string;
  viewerLoginUrl?: string;
  /** Ctrl-C, as the owner stops it; resolves once the process has exited. */
  stop(): Promise<void>;
}

/** `port`: 0 (default) for any free port, or the port of a console being restarted. */
export async function startConsoleChild(env: NodeJS.ProcessEnv, opts: { port?: number; args?: string[] } = {}): Promise<ConsoleChild> {
  const cli = spawnCli(["web", "--port", String(opts.port ?? 0), ...(opts.args ?? [])], env);
  await cli.waitForOutput(/Payments: /); // the last line it prints once listening
  const owner = OWNER_URL.exec(cli.stdout());
  if (!owner) throw new Error(`vibewriter web printed no login URL:\n${cli.stdout()}\n${cli.stderr()}`);
  const viewer = VIEWER_URL.exec(cli.stdout());
  return {
    cli,
    origin: owner[1]!,
    port: Number(owner[2]),
    ownerLoginUrl: owner[0].slice("Console: ".length),
    ...(viewer ? { viewerLoginUrl: viewer[1]! } : {}),
    async stop() {
      if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill("SIGINT");
      await cli.exited;
    },
  };
}
