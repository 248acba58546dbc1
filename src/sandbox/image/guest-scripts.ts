/**
 * The scripts that bring the guest up. Kept as text here (rather than loose files) so that they
 * are part of the image hash and reviewed in one place.
 *
 * Boot: kernel → initramfs `/init` (busybox): load modules, mount the read-only root disk, put
 * tmpfs mounts on it (/workspace size-limited, /tmp, /run, /skills), bring `lo` up (and eth0 when
 * the VM has a NIC), turn user namespaces off, mount cgroup2 for the commands' cgroups, then switch_root to busybox `init` on the root disk, which runs
 * `/opt/vibewriter/agent-run`: the guest agent as root with RLIMIT_NPROC set (root is exempt; the
 * sandbox user it drops to is not), and a poweroff when the agent ends — a VM lives as long as its
 * agent, so the host sees an agent crash as the VMM exiting.
 */
import { SANDBOX_GID, SANDBOX_UID } from "../../protocol/index.ts";

/** Kernel command line options the image's /init understands. */
export const GuestCmdline = {
  /** Size of /workspace in MiB. */
  workspaceMiB: "vw.ws",
  /** Max processes of the sandbox user (fork-bomb containment). */
  maxProcs: "vw.nproc",
  /** "1" when the VM has a NIC (user-mode net: static 10.0.2.15/24 via 10.0.2.2, DNS 10.0.2.3). */
  network: "vw.net",
} as const;

export const DEFAULT_MAX_PROCS = 256;

/** initramfs /init, run by busybox sh as PID 1. */
export function initramfsInit(moduleFiles: string[]): string {
  return `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /newroot
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
fail() { echo "vibewriter init: $*" >&2; poweroff -f; }
for m in ${moduleFiles.map((m) => `/lib/modules/${m}`).join(" ")}; do
  insmod "$m" || fail "insmod $m"
done
ws=64; nproc=${DEFAULT_MAX_PROCS}; net=0
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    ${GuestCmdline.workspaceMiB}=*) ws="\${arg#*=}" ;;
    ${GuestCmdline.maxProcs}=*) nproc="\${arg#*=}" ;;
    ${GuestCmdline.network}=*) net="\${arg#*=}" ;;
  esac
done
# The root disk is the first virtio block device; wait for it to appear (virtio probing is async).
i=0; while [ ! -b /dev/vda ]; do i=$((i+1)); [ $i -gt 2000 ] && fail "no /dev/vda"; usleep 1000; done
mount -t ext4 -o ro,noatime /dev/vda /newroot || fail "mount root"
# nr_inodes: 100,000-file workspaces fit (each inode ~1 KiB of kernel memory, outside size=)
mount -t tmpfs -o size=\${ws}m,nr_inodes=131072,mode=0755,uid=${SANDBOX_UID},gid=${SANDBOX_GID} workspace /newroot/workspace
mkdir -p /newroot/workspace/.large_tool_results /newroot/workspace/.conversation_history
chown ${SANDBOX_UID}:${SANDBOX_GID} /newroot/workspace/.large_tool_results /newroot/workspace/.conversation_history
mount -t tmpfs -o size=64m,mode=1777 tmp /newroot/tmp
mount -t tmpfs -o size=8m,mode=0755 run /newroot/run
# Skills are uploaded by the host after start; root-owned, so read-only to the sandbox user.
mount -t tmpfs -o size=64m,mode=0755 skills /newroot/skills
hostname sandbox
ip link set lo up
if [ "$net" = 1 ]; then
  i=0; while [ ! -e /sys/class/net/eth0 ]; do i=$((i+1)); [ $i -gt 2000 ] && fail "no eth0"; usleep 1000; done
  ip link set eth0 up
  ip addr add 10.0.2.15/24 dev eth0
  ip route add default via 10.0.2.2
  echo "nameserver 10.0.2.3" > /newroot/run/resolv.conf
fi
mount --move /dev /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /newroot/dev/pts
mount -t tmpfs -o size=16m,mode=1777 shm /newroot/dev/shm
# No user namespaces in the guest (nothing in it needs them): \`unshare -U\` would give the sandbox
# user root's capabilities over new namespaces and so reach kernel code meant for root only. The
# sysctl is upstream's (Debian 12 and 13 alike); Debian's own switch is set too where it exists.
echo 0 > /proc/sys/user/max_user_namespaces || fail "user.max_user_namespaces"
[ -e /proc/sys/kernel/unprivileged_userns_clone ] && echo 0 > /proc/sys/kernel/unprivileged_userns_clone
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
# One cgroup per command (src/guest/command-cgroup.ts), made by the agent under commands/ (root's).
# favordynmods: the agent moves itself in and out at each spawn; older kernels lack the option.
mount -t cgroup2 -o nsdelegate,favordynmods cgroup2 /newroot/sys/fs/cgroup 2>/dev/null ||
  mount -t cgroup2 -o nsdelegate cgroup2 /newroot/sys/fs/cgroup || fail "mount cgroup2"
mkdir /newroot/sys/fs/cgroup/commands || fail "cgroup commands/"
echo "\$nproc" > /newroot/run/vw-nproc
exec switch_root /newroot /opt/vibewriter/bin/init
`;
}

/** busybox init's table on the root disk. */
export const INITTAB = `::once:/opt/vibewriter/agent-run
`;

/**
 * Runs the guest agent; powers the VM off when it ends. `setIdShim`: the path of node-setid-shim.so
 * when the guest's Node refuses set*id without it (Debian 13); the agent then runs with io_uring
 * off, which is what the shim tells Node.
 */
export function agentRun(setIdShim: string | null): string {
  const nodeEnv = setIdShim ? `UV_USE_IO_URING=0 LD_PRELOAD=${setIdShim} ` : "";
  return `#!/opt/vibewriter/bin/sh
export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/root
ulimit -u "$(cat /run/vw-nproc)"
cd /
# The agent's tree cache trusts inotify: a deep event queue, and watches for big trees.
echo 1048576 > /proc/sys/fs/inotify/max_queued_events
echo 65536 > /proc/sys/fs/inotify/max_user_watches
# --jitless: under TCG, code V8 compiles at run time must be translated again by QEMU, and tiering
# up made requests 5-10x slower for their first hundred runs; the interpreter's code is translated
# once. On KVM the cost of interpreting the agent's little JavaScript is small either way.
${nodeEnv}/usr/local/bin/node --jitless /opt/vibewriter/agent.mjs
echo "vibewriter: guest agent exited ($?)" > /dev/console
/opt/vibewriter/bin/poweroff -f
`;
}
