#!/usr/bin/env bash
# One-shot set-up on a fresh Debian 12 (bookworm) or 13 (trixie) machine: system packages, npm
# dependencies, the guest image. Safe to run again: each step checks what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v qemu-system-x86_64 >/dev/null || need_apt+=(qemu-system-x86)
command -v nats-server >/dev/null || need_apt+=(nats-server)
command -v debootstrap >/dev/null || need_apt+=(debootstrap)
command -v mkfs.ext4 >/dev/null || need_apt+=(e2fsprogs)
command -v cpio >/dev/null || need_apt+=(cpio)
[ -x /bin/busybox ] || need_apt+=(busybox-static)
command -v xz >/dev/null || need_apt+=(xz-utils)
# Debian 13's kernel (6.12) is zstd-compressed and Node has no zstd; xz unpacks its .ko.xz modules.
command -v zstd >/dev/null || need_apt+=(zstd)
command -v setpriv >/dev/null || need_apt+=(util-linux)
# Report export (`vibewriter export --format pdf`): headless chromium prints the PDF; its tests read it back with pdftotext.
command -v chromium >/dev/null || need_apt+=(chromium)
command -v pdftotext >/dev/null || need_apt+=(poppler-utils)
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
if [ ${#need_apt[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  # Recommends would pull QEMU's whole GUI stack (GTK, SDL, PulseAudio, GStreamer) for nothing.
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}"  # env: sudo resets the environment
fi

# QEMU started by root drops to this unprivileged user once set up (-runas): under TCG the QEMU
# process is the only wall between a guest and the host.
if [ "$(id -u)" = 0 ] && ! id -u vibewriter-vm >/dev/null 2>&1; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin vibewriter-vm
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  if [ "$(npm --version | cut -d. -f1)" -ge 11 ]; then
    npm ci --no-audit --no-fund   # runs only the install scripts package.json's allowScripts approves
  else
    # npm < 11 (Debian 13 ships 9.2) ignores allowScripts and would run every install script: run
    # none, then only the approved ones. better-sqlite3 (the checkpoint bench's baseline, nothing
    # else) needs a C++ toolchain when no prebuilt binary is reachable: a failure there is a warning.
    npm ci --no-audit --no-fund --ignore-scripts
    for pkg in $(node -p 'Object.keys(require("./package.json").allowScripts ?? {}).join(" ")'); do
      npm rebuild "$pkg" >/dev/null 2>&1 || echo "setup: warning: $pkg's install script failed (used only by bench/checkpoint.ts; needs g++, make, python3): npm rebuild $pkg" >&2
    done
  fi
fi

# --- The command, compiled (start-up; owner: bin/ and scripts/build.mjs) ---
# bin/vibewriter.js runs dist/cli when it is up to date (else the sources through tsx, slower, with
# a notice); `vibewriter` on PATH spares `npx` its second per command.
node scripts/build.mjs --if-stale
$SUDO ln -sfn "$PWD/bin/vibewriter.js" /usr/local/bin/vibewriter
# --- end of the compiled command ---

# Guest image (kernel, initramfs, root disk) and its template snapshot, cached in the state
# directory and rebuilt only when their inputs change. The kernel comes from apt: make sure apt
# knows the package first.
if ! apt-cache policy linux-image-amd64 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  $SUDO apt-get update -qq
fi
if [ "$(id -u)" = 0 ]; then
  npx tsx src/sandbox/image/cli.ts --template
else
  # debootstrap, and root-owned files in the guest's root disk, need root: build the image with sudo
  # into this user's images folder, hand this user what it made (never the cached debootstrap base,
  # whose ownership becomes the guest's), then make the template snapshot as this user.
  state="${VIBEWRITER_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/vibewriter}"
  images="${VIBEWRITER_IMAGES_DIR:-$state/images}"
  mkdir -p "$images"
  # A user's PATH lacks the sbin folders that hold debootstrap and mkfs.ext4.
  $SUDO env PATH="/usr/local/sbin:/usr/sbin:/sbin:$PATH" VIBEWRITER_IMAGES_DIR="$images" npx tsx src/sandbox/image/cli.ts
  $SUDO find "$images" -path "$images/cache/base-*" -prune -o -exec chown "$(id -u):$(id -g)" {} +
  npx tsx src/sandbox/image/cli.ts --template
fi
