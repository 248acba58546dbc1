import { EventEmitter } from "node:events";
import { connect, type Socket } from "node:net";
import { VmmError, VmmErrorCode } from "./driver.ts";

/**
 * A minimal QMP (QEMU Machine Protocol) client: JSON lines over a unix socket. Commands are sent one
 * at a time and matched to replies by order (QMP answers in order); events are emitted as "event".
 */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
}

export class QmpClient extends EventEmitter {
  private buf = "";
  private readonly waiting: { resolve: (v: unknown) => void; reject: (e: Error) => void; cmd: string }[] = [];
  private closedError: Error | null = null;

  private constructor(private readonly sock: Socket) {
    super();
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => this.onData(d));
    const fail = (err?: Error) => {
      this.closedError ??= new VmmError(VmmErrorCode.Qmp, "QMP connection closed", { cause: err });
      for (const w of this.waiting.splice(0)) w.reject(this.closedError);
      this.emit("close");
    };
    sock.on("error", fail);
    sock.on("close", () => fail());
  }

  /** Connects, reads the greeting and negotiates capabilities. */
  static async connect(path: string): Promise<QmpClient> {
    const sock = await new Promise<Socket>((resolve, reject) => {
      const s = connect(path);
      s.once("connect", () => {
        s.off("error", reject);
        resolve(s);
      });
      s.once("error", reject);
    });
    const qmp = new QmpClient(sock);
    // The greeting is the first reply-less line; queue a pseudo-waiter for it.
    await new Promise((resolve, reject) => qmp.waiting.push({ resolve, reject, cmd: "greeting" }));
    await qmp.execute("qmp_capabilities");
    return qmp;
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ resolve: resolve as (v: unknown) => void, reject, cmd: command });
      this.sock.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + "\n");
    });
  }

  close(): void {
    this.sock.destroy();
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf("\n")) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (!line) continue;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if ("event" in msg) {
        this.emit("event", msg as unknown as QmpEvent);
        continue;
      }
      const w = this.waiting.shift();
      if (!w) continue;
      if ("QMP" in msg) w.resolve(msg.QMP);
      else if ("error" in msg) {
        const e = msg.error as { class?: string; desc?: string };
        w.reject(new VmmError(VmmErrorCode.Qmp, `QMP ${w.cmd}: ${e.desc ?? "error"}${e.class ? ` (${e.class})` : ""}`));
      } else w.resolve(msg.return);
    }
  }
}
