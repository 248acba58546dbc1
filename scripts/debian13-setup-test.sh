#!/usr/bin/env bash
# Proof that the README's set-up works on Debian 13 (trixie): in a trixie root, the README's first
# command (`bash scripts/setup.sh && vibewriter demo`) as root, then the VM hardening and guest
# privilege tests; then the same first command as a user with sudo, on another fresh root.
#
# The root is a debootstrapped trixie with Debian's nodejs and npm (what "a fresh machine with
# Node 20 and npm" means), cached in $VIBEWRITER_DEBIAN13_CACHE (default
# /var/cache/vibewriter/debian13) and made again when missing. Every run starts from that clean
# root through an overlay, so setup.sh really starts from nothing; only the apt and npm download
# caches persist. Mounts are undone on exit, also on failure; a failure names the step.
# Needs root (chroot, mounts, debootstrap). Run it under `flock /tmp/heavy.lock` on shared machines.
# `--root-only` skips the sudo user's machine (half the time).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${VIBEWRITER_DEBIAN13_CACHE:-/var/cache/vibewriter/debian13}"
BASE="$CACHE/root"
RUN="$CACHE/run"
MNT="$RUN/mnt"
SUITE=trixie

STEP="start"
step() { STEP="$*"; echo "== debian13 [$(date +%T)]: $*"; }

[ "$(id -u)" = 0 ] || { echo "debian13: needs root (chroot, mounts, debootstrap): sudo $0" >&2; exit 2; }
for tool in debootstrap chroot mount umount git tar; do
  command -v "$tool" >/dev/null || { echo "debian13: $tool is missing (apt-get install debootstrap)" >&2; exit 2; }
done

# The mirror the host's apt uses for Debian (one-line or deb822 sources).
mirror() {
  if [ -n "${VIBEWRITER_DEBIAN_MIRROR:-}" ]; then echo "$VIBEWRITER_DEBIAN_MIRROR"; return; fi
  local uri
  uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {print $2}' | grep -v -e security -e nodesource | head -n1)
  [ -n "$uri" ] || uri=$(grep -hE '^deb\s' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | grep -v security | awk '{print ($2 ~ /^\[/) ? $3 : $2}' | head -n1)
  echo "${uri:-http://deb.debian.org/debian}"
}

# Every process whose root is inside $MNT (left by the run: nats-server, QEMU), by pid.
kill_chroot_processes() {
  local p root
  for p in /proc/[0-9]*; do
    root=$(readlink "$p/root" 2>/dev/null) || continue
    case "$root" in "$MNT"|"$MNT"/*) kill -KILL "${p#/proc/}" 2>/dev/null || true ;; esac
  done
}

unmount_all() {
  local dir="$1"
  [ -d "$dir" ] || return 0
  kill_chroot_processes
  # Deepest first; a mount that stays busy is detached so the next run starts clean.
  { findmnt -rn -o TARGET | grep -E "^$dir(/|$)" || true; } | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m"
  done
}

on_exit() {
  local rc=$?
  set +e # clean up and report whatever happens here
  unmount_all "$MNT"
  [ -n "${BASE_TMP:-}" ] && unmount_all "$BASE_TMP"
  if [ "$rc" -ne 0 ]; then
    echo "debian13: FAILED at step: $STEP (exit $rc; the run's files stay in $RUN/upper)" >&2
  else
    rm -rf "$RUN" # about 1 GB of this run's writes; the cached root stays
    echo "debian13: passed"
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# Bind the host's kernel filesystems and a private /tmp into a root.
enter_mounts() {
  local root="$1"
  mount -t proc proc "$root/proc"
  mount -t sysfs sys "$root/sys"
  mount --bind /dev "$root/dev"
  mount --bind /dev/pts "$root/dev/pts"
  mount -t tmpfs -o mode=1777 tmp "$root/tmp"
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  cp -L /etc/hosts "$root/etc/hosts" # sudo looks up the host name
}

# A command in the root with a clean environment (nothing of this shell's reaches it).
in_root() {
  local root="$1"; shift
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

make_base() {
  step "debootstrap $SUITE from $(mirror) (cached root missing)"
  BASE_TMP="$BASE.tmp"
  unmount_all "$BASE_TMP"
  rm -rf "$BASE_TMP"
  mkdir -p "$CACHE"
  debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$BASE_TMP" "$(mirror)"
  step "configure apt (deb822, as trixie installs it) and the host's extra CA certificates"
  rm -f "$BASE_TMP/etc/apt/sources.list"
  cat > "$BASE_TMP/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $(mirror)
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # A machine behind a TLS-inspecting egress trusts its CA; the root must too (npm registry).
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$BASE_TMP/usr/local/share/ca-certificates/"
  fi
  enter_mounts "$BASE_TMP"
  in_root "$BASE_TMP" update-ca-certificates >/dev/null
  step "install Debian's nodejs and npm in the root"
  in_root "$BASE_TMP" apt-get update -qq
  in_root "$BASE_TMP" apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  in_root "$BASE_TMP" apt-get clean
  unmount_all "$BASE_TMP"
  rm -f "$BASE_TMP/etc/resolv.conf"
  touch "$BASE_TMP/.vibewriter-debian13-base"
  mv "$BASE_TMP" "$BASE"
  BASE_TMP=""
}

[ -f "$BASE/.vibewriter-debian13-base" ] || make_base

# A fresh overlay over the cached root at $MNT: a new machine each time, only download caches kept.
fresh_machine() {
  step "fresh overlay over the cached root ($1)"
  unmount_all "$MNT"
  rm -rf "$RUN"
  mkdir -p "$RUN/upper" "$RUN/work" "$MNT" "$CACHE/apt-archives/partial"
  mount -t overlay overlay -o "lowerdir=$BASE,upperdir=$RUN/upper,workdir=$RUN/work" "$MNT"
  enter_mounts "$MNT"
  mount --bind "$CACHE/apt-archives" "$MNT/var/cache/apt/archives"
}

# The checkout (tracked and new files, no node_modules) into $1 inside the root, owned by $2.
copy_checkout() {
  step "copy the checkout to $1"
  mkdir -p "$MNT$1"
  git -C "$REPO" ls-files -z --cached --others --exclude-standard \
    | (cd "$REPO" && tar --null --ignore-failed-read -T - -cf -) | tar -xf - -C "$MNT$1"
  in_root "$MNT" chown -R "$2:" "$1"
}

# --- as root ---
fresh_machine root
mkdir -p "$CACHE/npm-cache/root" "$MNT/root/.npm"
mount --bind "$CACHE/npm-cache/root" "$MNT/root/.npm"
echo "   $(in_root "$MNT" sh -c '. /etc/os-release; echo "$PRETTY_NAME"; node --version; echo npm $(npm --version)' | tr '\n' ' ')"
copy_checkout /root/vibewriter root

step "root: bash scripts/setup.sh"
in_root "$MNT" bash -c 'cd /root/vibewriter && bash scripts/setup.sh'

step "root: vibewriter demo"
in_root "$MNT" bash -c 'cd /root/vibewriter && vibewriter demo' | tail -n 4

step "root: VM tests (QEMU 10 confinement, the guest agent's privileges, commands in cgroups on kernel 6.12)"
in_root "$MNT" bash -c 'cd /root/vibewriter && npx vitest run test/sandbox/vmm-hardening.test.ts test/guest/privileges.test.ts test/guest/ops/exec.test.ts'

# --- as a user with sudo, on another fresh machine ---
if [ "${1:-}" = "--root-only" ]; then exit 0; fi
fresh_machine "user with sudo"
step "sudo user: make user dev, allowed sudo without a password"
in_root "$MNT" apt-get install -y -qq --no-install-recommends sudo >/dev/null
in_root "$MNT" useradd -m -s /bin/bash dev
echo "dev ALL=(ALL) NOPASSWD: ALL" > "$MNT/etc/sudoers.d/dev"
chmod 0440 "$MNT/etc/sudoers.d/dev"
DEV_UID=$(in_root "$MNT" id -u dev)
mkdir -p "$CACHE/npm-cache/dev" "$MNT/home/dev/.npm"
chown "$DEV_UID" "$CACHE/npm-cache/dev"
mount --bind "$CACHE/npm-cache/dev" "$MNT/home/dev/.npm"
copy_checkout /home/dev/vibewriter dev

# As the user logs in: Debian gives a user no sbin folders on PATH (/etc/profile).
as_dev() {
  in_root "$MNT" runuser -u dev -- /usr/bin/env -i HOME=/home/dev USER=dev LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games bash -c "cd ~/vibewriter && $1"
}
step "sudo user: bash scripts/setup.sh"
as_dev 'bash scripts/setup.sh' | tail -n 8
step "sudo user: vibewriter demo"
as_dev 'vibewriter demo' | tail -n 4
