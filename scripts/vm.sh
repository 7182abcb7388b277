#!/usr/bin/env bash
# Runs a command, or the kernel-dependent test suite, inside a VM booting Debian's own kernel
# (linux-image-amd64: kprobes, fentry/fexit, BTF), for machines whose kernel lacks them.
#
#   scripts/vm.sh --tests          build tests/vm_kprobes.rs on the host, run it in the VM (--ignored)
#   scripts/vm.sh -- CMD [ARG...]  run CMD in the VM (as root, in this directory); its exit status
#                                  and output come back
#
# The VM is virtme-ng (PyPI, in a venv) on qemu-system-x86 under software emulation
# (--disable-kvm: /dev/kvm may exist yet hang early boot). It sees the host's file system
# read-only through 9p, with fresh tmpfs/overlays on /tmp, /var/tmp, /run...; the cargo target
# directory is exported at its own path when it lies outside the repository.
# Installs what it needs when missing (root): qemu-system-x86, linux-image-amd64 (a kernel in
# /boot, not booted by the host), python3-venv. Fails, never skips, when the VM does not come up
# or the kernel lacks BTF.
#
# Environment: GADGETRT_VM_KERNEL (a vmlinuz; default: linux-image-amd64's), GADGETRT_VM_VENV
# (default build/vng-venv), GADGETRT_VM_MEMORY (2G), GADGETRT_VM_CPUS (2),
# GADGETRT_VM_TIMEOUT (seconds for boot + command, default 900).
set -euo pipefail

# ---- inside the VM: check the kernel, mount what eBPF needs, run the command ----------------
if [ "${1:-}" = "--in-guest" ]; then
  shift
  cd "$GADGETRT_VM_CWD"
  echo "vm: guest up: kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {print int($2/1024) " MiB"}' /proc/meminfo)"
  if [ ! -r /sys/kernel/btf/vmlinux ]; then
    echo "vm: FAIL: kernel $(uname -r) has no BTF (/sys/kernel/btf/vmlinux): CO-RE gadgets cannot load" >&2
    exit 97
  fi
  mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing
  mountpoint -q /sys/kernel/debug || mount -t debugfs nodev /sys/kernel/debug
  mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
  ulimit -l unlimited 2>/dev/null || true
  echo "vm: running: $*"
  set +e
  "$@"
  rc=$?
  echo "vm: command exited with status $rc"
  exit $rc
fi

# ---- on the host --------------------------------------------------------------------------
cd "$(dirname "$0")/.."
ROOT=$PWD
SELF="$ROOT/scripts/vm.sh"
export DEBIAN_FRONTEND=noninteractive
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
mode=""
case "${1:-}" in
  --tests) mode=tests; shift ;;
  --) mode=cmd; shift ;;
  ""|-h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  *) mode=cmd ;;
esac
if [ "$mode" = cmd ] && [ $# -eq 0 ]; then echo "vm.sh: no command given" >&2; exit 2; fi

need=()
for p in qemu-system-x86 linux-image-amd64 python3-venv; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "vm: installing ${need[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

kernel="${GADGETRT_VM_KERNEL:-}"
if [ -z "$kernel" ]; then
  # linux-image-amd64 depends on exactly one linux-image-<version>-amd64.
  pkg=$(dpkg-query -W -f='${Depends}' linux-image-amd64 | tr ',|' '\n\n' | sed -n 's/^ *\(linux-image-[^ ]*\).*/\1/p' | head -1)
  kernel="/boot/vmlinuz-${pkg#linux-image-}"
fi
[ -r "$kernel" ] || { echo "vm: FAIL: kernel image $kernel not found (linux-image-amd64 installed?)" >&2; exit 1; }
kver=${kernel##*/vmlinuz-}
[ -d "/lib/modules/$kver" ] || { echo "vm: FAIL: /lib/modules/$kver missing (virtme-ng loads 9p/virtio modules from it)" >&2; exit 1; }

VNG_VERSION=1.42
venv="${GADGETRT_VM_VENV:-$ROOT/build/vng-venv}"
if ! "$venv/bin/vng" --version 2>/dev/null | grep -q " $VNG_VERSION\$"; then
  echo "vm: installing virtme-ng $VNG_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "virtme-ng==$VNG_VERSION"
fi

export PATH="$venv/bin:$PATH"   # vng runs virtme-run from the same venv
# --force-9p: virtme-ng otherwise waits ~10 s for a virtiofsd that fails here, then uses 9p.
# module_blacklist: udev coldplug in the guest would load drivers for qemu's emulated q35 devices
# (kvm alone takes ~9 s under emulation); none of them is needed.
vm_blacklist=kvm,kvm_amd,kvm_intel,irqbypass,powernow_k8,ahci,libahci,sr_mod,cdrom,sg,iTCO_wdt,i6300esb,lpc_ich,i2c_i801,pcspkr,aesni_intel,ghash_clmulni_intel,crc32_pclmul,joydev,evdev,serio_raw
# The clone itself is exported at its own path too (it may lie under /var/tmp).
vng_args=(--disable-kvm --force-9p --run "$kernel" --cpus "${GADGETRT_VM_CPUS:-2}" --memory "${GADGETRT_VM_MEMORY:-2G}"
  --append "module_blacklist=$vm_blacklist" --rodir "$ROOT=$ROOT")

if [ "$mode" = tests ]; then
  export PATH="$PATH:/usr/local/go/bin:$HOME/.cargo/bin"
  TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
  echo "vm: building the eBPF test objects and tests/vm_kprobes.rs on the host"
  # The objects are built here, against the host's vmlinux.h (CO-RE relocates them in the VM);
  # in the VM, tests/bpf/build.sh then finds them up to date and compiles nothing.
  bash tests/bpf/build.sh "$TARGET/tmp/bpf" >/dev/null
  bin=$(cargo test --release --test vm_kprobes --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "vm_kprobes" and m.get("executable"):
        print(m["executable"])')
  [ -x "$bin" ] || { echo "vm: FAIL: building tests/vm_kprobes.rs failed:" >&2; cargo test --release --test vm_kprobes --no-run >&2; exit 1; }
  # The guest gets fresh tmpfs on /var/tmp, /run...: export the target directory at its own path.
  case "$TARGET/" in "$ROOT/"*) ;; *) vng_args+=(--rodir "$TARGET=$TARGET") ;; esac
  set -- "$bin" --ignored --test-threads=2 --nocapture
fi

printf -v guest_cmd '%q ' "$SELF" --in-guest "$@"
echo "vm: booting $kernel under qemu (software emulation; ${GADGETRT_VM_CPUS:-2} CPUs, ${GADGETRT_VM_MEMORY:-2G})"
elapsed() { awk -v s="$1" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.1f", e - s }'; }
log=$(mktemp); trap 'rm -f "$log"' EXIT
start=$EPOCHREALTIME
set +e
timeout --foreground -k 10 "${GADGETRT_VM_TIMEOUT:-900}" \
  "$venv/bin/vng" "${vng_args[@]}" --exec "GADGETRT_VM_CWD=$(printf '%q' "$ROOT") $guest_cmd" </dev/null 2>&1 \
  | while IFS= read -r line; do
      printf '%s\n' "$line"; printf '%s\n' "$line" >>"$log"
      case "$line" in "vm: guest up:"*) echo "vm: boot took $(elapsed "$start") s" ;; esac
    done
rc=${PIPESTATUS[0]}
set -e
echo "vm: boot + command took $(elapsed "$start") s, exit status $rc"
if ! grep -q '^vm: guest up:' "$log"; then
  echo "vm: FAIL: the VM did not boot to the command (exit status $rc; qemu/virtme-ng output above)" >&2
  [ "$rc" -ne 0 ] || rc=1
elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  echo "vm: FAIL: the VM did not finish within ${GADGETRT_VM_TIMEOUT:-900} s" >&2
elif [ "$rc" -eq 97 ]; then
  echo "vm: FAIL: the VM kernel lacks BTF" >&2
elif [ "$rc" -ne 0 ]; then
  echo "vm: FAIL: the command exited with status $rc" >&2
fi
exit "$rc"
