/**
 * The environment every process Vibewriter spawns on the host gets (QEMU and its guardian,
 * nats-server, image-build tools, version probes). By default Node hands a child the parent's
 * whole environment, and this process holds the wallet passphrase, model API keys and NATS
 * credentials in it: they would sit in `/proc/<pid>/environ` of QEMU (under TCG the wall itself)
 * and of every helper. So a child gets an allowlist and nothing else: PATH (a safe default when
 * unset), the C locale (tool output we parse stays English), TZ and TMPDIR when set, plus the
 * extras its caller names explicitly. No tool we run needs HOME, so it does not pass.
 */
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const PASSED_WHEN_SET = ["TZ", "TMPDIR"] as const;

export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH || DEFAULT_PATH, LANG: "C", LC_ALL: "C" };
  for (const name of PASSED_WHEN_SET) {
    const value = process.env[name];
    if (value) env[name] = value;
  }
  return { ...env, ...extra };
}

/**
 * The proxy settings of this process, for the tools that download (apt-get, debootstrap): on a
 * host behind a proxy they cannot fetch without them. Pass them as `childEnv(proxyEnv())`.
 */
export function proxyEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ["http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"]) {
    const value = process.env[name];
    if (value) env[name] = value;
  }
  return env;
}
