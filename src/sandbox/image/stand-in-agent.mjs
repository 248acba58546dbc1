// Stand-in guest agent: used only when the real one (src/guest, bundled by buildGuestAgent) is not
// available. Speaks just enough of src/guest/protocol.ts for the VMM layer's own tests: `hello`
// and non-streamed `exec` of a shell string. Plain Node, no dependencies.
import { spawn } from "node:child_process";
import { openSync, readdirSync, readFileSync, read, writeSync } from "node:fs";

function findPort() {
  for (const p of readdirSync("/sys/class/virtio-ports")) {
    try {
      if (readFileSync(`/sys/class/virtio-ports/${p}/name`, "utf8").trim() === "agent") return `/dev/${p}`;
    } catch {}
  }
  throw new Error("no virtio port named agent");
}

const fd = openSync(findPort(), "r+");
function send(header, body = Buffer.alloc(0)) {
  const json = Buffer.from(JSON.stringify(header));
  const pre = Buffer.alloc(8);
  pre.writeUInt32BE(json.length, 0);
  pre.writeUInt32BE(body.length, 4);
  writeSync(fd, Buffer.concat([pre, json, body])); // blocks until a host is connected
}

function handle(h, body) {
  if (h.op === "hello") {
    send({ id: h.id, ev: "result", value: { protocolVersion: 1, agentVersion: "stand-in", roots: [{ path: "/workspace", writable: true }], pid: process.pid } });
  } else if (h.op === "exec") {
    const a = h.args ?? {};
    const child = spawn("/bin/sh", ["-c", a.shell ?? "true"], { uid: 1000, gid: 1000, cwd: a.cwd ?? "/workspace", env: { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: "/workspace" } });
    const out = [];
    child.stdout.on("data", (d) => out.push(d));
    child.stderr.on("data", (d) => out.push(d));
    if (body.length) child.stdin.end(body); else child.stdin.end();
    child.on("close", (code, signal) => send({ id: h.id, ev: "result", value: { exitCode: code, signal, timedOut: false, truncated: false } }, Buffer.concat(out)));
    child.on("error", (e) => send({ id: h.id, ev: "error", code: "internal", message: String(e) }));
  } else {
    send({ id: h.id, ev: "error", code: "bad_request", message: `stand-in agent: no op ${h.op}` });
  }
}

let buf = Buffer.alloc(0);
const chunk = Buffer.alloc(65536);
function loop() {
  read(fd, chunk, 0, chunk.length, null, (err, n) => {
    if (err || n === 0) return setTimeout(loop, 5); // EOF: no host connected yet; try again
    buf = Buffer.concat([buf, chunk.subarray(0, n)]);
    while (buf.length >= 8) {
      const hl = buf.readUInt32BE(0), bl = buf.readUInt32BE(4);
      if (buf.length < 8 + hl + bl) break;
      const h = JSON.parse(buf.subarray(8, 8 + hl).toString());
      const body = buf.subarray(8 + hl, 8 + hl + bl);
      buf = buf.subarray(8 + hl + bl);
      handle(h, body);
    }
    loop();
  });
}
send({ id: 0, ev: "ready", protocolVersion: 1, agentVersion: "stand-in" });
loop();
