/**
 * Reads a secret (a Stellar seed) from stdin, never from argv (argv is visible in `ps` and shell
 * history). On a terminal the input is not echoed; piped input is read to its end.
 */
import { Secret } from "../wallet/index.ts";
import type { CliOutput } from "./context.ts";

export async function readSecretFromStdin(prompt: string, stderr: CliOutput, stdin: NodeJS.ReadStream = process.stdin): Promise<Secret<string>> {
  if (!stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of stdin) chunks.push(c as Buffer);
    return new Secret(Buffer.concat(chunks).toString("utf8").trim());
  }
  stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  try {
    const value = await new Promise<string>((resolve, reject) => {
      let text = "";
      const onData = (d: Buffer) => {
        for (const ch of d.toString("utf8")) {
          if (ch === "\r" || ch === "\n") {
            stdin.off("data", onData);
            return resolve(text);
          }
          if (ch === "\u0003") {
            stdin.off("data", onData);
            return reject(new Error("cancelled"));
          }
          if (ch === "\u007f") text = text.slice(0, -1);
          else text += ch;
        }
      };
      stdin.on("data", onData);
    });
    return new Secret(value.trim());
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    stderr.write("\n");
  }
}
