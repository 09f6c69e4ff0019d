#!/usr/bin/env bash
# The Avx512 and Avx512Bf16 tiers' tests, on an emulated CPU that has them.
#
# QEMU's TCG has no AVX-512, so this boots Debian's kernel in Bochs 3.0 (Debian trixie's source
# package, built here in about two minutes) on its Skylake-X model with AVX512_BF16 switched on,
# which makes it a Cooper Lake (and with its VCVTNE2PS2BF16 fixed: Bochs 3.0 reads the upper
# half's inputs past the end of the register). Bochs's own Sapphire Rapids and Tiger Lake
# models hang Linux 6.1 early in boot, and Bochs 2.7 (bookworm's) reports an XSAVE size Linux
# rejects. A busybox
# initramfs runs the crate's release test binaries with LOWP_TEST_ISAS=avx512,avx512bf16, so
# only those tiers run (Bochs is about 100x slower than the host), each against the reference.
#
# usage: .ci/avx512-emu.sh [--no-install]
#   Needs root for apt-get unless --no-install. Everything it fetches or builds is kept under
#   target/avx512-emu, so a second run only rebuilds the tests and the initramfs.
#   LOWP_EMU_TIMEOUT (seconds, default 2400) bounds the emulated run.
set -euo pipefail
{ # Parsed whole before it runs: editing this file during a run cannot derail the run.
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WORK="$ROOT/target/avx512-emu"
# `lib` is the crate's unit tests: the AVX-512 kernels' own checks (x loaded by vgatherdps, by
# broadcasts and through windows, with the same bits).
TESTS=(lib dispatch convert stochastic fmac gemm sparse tensor set_active allocations workspace spmv_packed blockfp exhaustive)
log() { printf '[avx512-emu %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() {
  log "error: $*"
  exit 1
}
mkdir -p "$WORK"

# 1. Host tools: ISO maker and boot loader, a static shell for the initramfs, the VGA BIOS.
if [[ ${1:-} != --no-install ]]; then
  missing=()
  for p in xorriso isolinux syslinux-common busybox-static vgabios cpio curl xz-utils; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [[ $(id -u) == 0 ]] || die "need root for apt-get (missing: ${missing[*]:-none})"
  apt-get update -qq
  if ((${#missing[@]})); then
    log "apt-get install ${missing[*]}"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

# 2. Bochs 3.0 from trixie's source package, through a private apt state so the machine's own
#    sources stay as they are.
BOCHS="$WORK/bochs-3.0/bochs"
# Bumped whenever the source patches below change, so a cached build is rebuilt.
PATCHED="$WORK/bochs-3.0/.lowp-patches-3"
if [[ ! -x $BOCHS || ! -f $PATCHED ]]; then
  apt_trixie() {
    apt-get -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$WORK/apt/sources" \
      -o Dir::State::Lists="$WORK/apt/lists" -o Dir::Cache="$WORK/apt/cache" "$@"
  }
  mkdir -p "$WORK/apt/sources" "$WORK/apt/lists/partial" "$WORK/apt/cache/archives/partial"
  cat >"$WORK/apt/sources/trixie-src.sources" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  log "fetching bochs source (trixie)"
  apt_trixie update -qq
  # Only the upstream tarball is needed (and the mirror may not serve the .dsc): fetch it by
  # the address and checksum apt's index gives.
  rm -rf "$WORK/src" && mkdir -p "$WORK/src"
  read -r url file _ sum < <(cd "$WORK/src" && apt_trixie source --print-uris bochs |
    grep "bochs_3\.0[^ ]*\.orig\.tar\.") || die "trixie no longer has a bochs 3.0 source package"
  curl -fsSL -o "$WORK/src/$file" "${url//\'/}"
  echo "${sum#SHA256:}  $WORK/src/$file" | sha256sum -c --quiet
  rm -rf "$WORK/bochs-3.0"
  tar -xf "$WORK/src/$file" -C "$WORK"
  python3 - "$WORK/bochs-3.0" <<'EOF'
import os, sys
root = sys.argv[1]
patches = {
    # Cooper Lake: the Skylake-X model plus AVX512_BF16 (CPUID leaf 7 subleaf 1, EAX bit 5);
    # and VAES with VPCLMULQDQ (leaf 7 subleaf 0, ECX bits 9 and 10), which no Cooper Lake
    # has, so that the `Avx2` tier's ymm ARS-5 kernels run their unit tests here too.
    "cpu/cpudb/intel/corei7_skylake-x.cc": [
        ("  enable_cpu_extension(BX_ISA_AVX512_BW);\n",
         "  enable_cpu_extension(BX_ISA_AVX512_BW);\n  enable_cpu_extension(BX_ISA_AVX512_BF16);\n"
         "  enable_cpu_extension(BX_ISA_VAES_VPCLMULQDQ);\n"),
        ("    leaf->eax = 0; /* report max sub-leaf that supported in leaf 7 */",
         "    leaf->eax = 1; /* report max sub-leaf that supported in leaf 7 */"),
        ("    leaf->edx = 0;\n    break;\n  default:",
         "    leaf->edx = 0;\n    break;\n  case 1:\n"
         "    leaf->eax = get_std_cpuid_leaf_7_subleaf_1_eax(0);\n"
         "    leaf->ebx = 0;\n    leaf->ecx = 0;\n    leaf->edx = 0;\n    break;\n  default:"),
        ("    leaf->ecx = 0;\n    leaf->edx = 0;\n    break;\n  case 1:",
         "    leaf->ecx = (1 << 9) | (1 << 10);\n    leaf->edx = 0;\n    break;\n  case 1:"),
    ],
    # Bochs 3.0 fills the upper half of VCVTNE2PS2BF16's result from dwords 16..31 of the
    # first source, past the end of a zmm; the SDM (and Zen 5 hardware) take dwords 0..15.
    "cpu/avx/avx512_bf16.cc": [
        ("    dst.vmm16u(n) = convert_ne_fp32_to_bfloat16(op1.vmm32u(n));\n",
         "    dst.vmm16u(n) = convert_ne_fp32_to_bfloat16(op1.vmm32u(n - DWORD_ELEMENTS(len)));\n"),
    ],
}
for rel, edits in patches.items():
    path = os.path.join(root, rel)
    src = open(path).read()
    for old, new in edits:
        if src.count(old) != 1:
            sys.exit(f"bochs patch: expected one {old!r} in {rel}")
        src = src.replace(old, new)
    open(path, "w").write(src)
EOF
  log "building bochs"
  (cd "$WORK/bochs-3.0" &&
    ./configure -q --enable-x86-64 --enable-cpu-level=6 --enable-avx --enable-evex \
      --with-nogui --enable-pci --disable-debugger --disable-docbook \
      --enable-all-optimizations >"$WORK/bochs-configure.log" 2>&1 &&
    make -j"$(nproc)" >"$WORK/bochs-make.log" 2>&1) ||
    die "bochs build failed: see $WORK/bochs-configure.log and bochs-make.log"
  touch "$PATCHED"
fi

# 3. Debian's current kernel (the image the linux-image-amd64 metapackage points at).
KERNEL="$WORK/vmlinuz"
if [[ ! -f $KERNEL ]]; then
  image=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  [[ -n $image ]] || die "no kernel image behind linux-image-amd64"
  log "fetching $image"
  rm -rf "$WORK/kernel" && mkdir -p "$WORK/kernel"
  (cd "$WORK/kernel" && apt-get download -qq "$image")
  dpkg-deb --fsys-tarfile "$WORK"/kernel/*.deb | tar -x -C "$WORK/kernel" --wildcards './boot/vmlinuz-*'
  cp "$WORK"/kernel/boot/vmlinuz-* "$KERNEL"
fi

# 4. The release test binaries (dynamically linked: the initramfs carries their libraries).
log "building the release tests"
cargo test --release --no-run --message-format=json-render-diagnostics >"$WORK/cargo.json"
ROOTFS="$WORK/rootfs"
rm -rf "$ROOTFS" && mkdir -p "$ROOTFS"/{bin,dev,proc,sys,tests}
# The executable cargo built for a target: `artifact test convert`, `artifact bin lowp`, and
# `artifact lib lowp` (the unit tests').
artifact() {
  python3 - "$WORK/cargo.json" "$1" "$2" <<'EOF'
import json, sys
_, path, kind, name = sys.argv
for line in open(path):
    m = json.loads(line)
    t = m.get("target", {})
    if m.get("reason") == "compiler-artifact" and m.get("executable") \
            and t.get("kind") == [kind] and t.get("name") == name \
            and m["profile"]["test"] == (kind in ("test", "lib")):
        print(m["executable"])
EOF
}
with_libraries() {
  ldd "$1" | grep -o '/[^ ]*' | while read -r lib; do cp --parents -L -n "$lib" "$ROOTFS"; done
}
for name in "${TESTS[@]}"; do
  if [[ $name == lib ]]; then exe=$(artifact lib lowp); else exe=$(artifact test "$name"); fi
  [[ -n $exe ]] || die "no test executable named $name"
  cp "$exe" "$ROOTFS/tests/$name"
  with_libraries "$exe"
done
# The dispatch tests start the `lowp` binary at the path cargo compiled into them.
bin=$(artifact bin lowp)
[[ -n $bin ]] || die "no lowp binary"
cp --parents "$bin" "$ROOTFS"
with_libraries "$bin"

# 5. The initramfs: run each test binary on the AVX-512 tiers, print its status, power off.
cp /bin/busybox "$ROOTFS/bin/"
for tool in sh mount grep tr echo sleep poweroff; do ln -s busybox "$ROOTFS/bin/$tool"; done
cat >"$ROOTFS/init" <<EOF
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo 1 >/proc/sys/kernel/printk # the kernel's later messages would split the tests' lines
echo "=== cpu: \$(grep -m1 '^flags' /proc/cpuinfo | grep -o -E 'avx512[a-z0-9_]*|vaes' | tr '\n' ' ')"
export LOWP_TEST_ISAS=avx512,avx512bf16 LOWP_EXHAUSTIVE_STRIDE=31
export LOWP_EXPECT_ISAS=scalar,portable,avx2,avx512,avx512bf16
$bin info
for t in ${TESTS[*]}; do
  echo "=== \$t"
  /tests/\$t --test-threads=1
  echo "=== \$t rc=\$?"
done
echo "=== all done"
sleep 2 # let the serial port drain
poweroff -f
EOF
chmod +x "$ROOTFS/init"
ISO="$WORK/iso"
rm -rf "$ISO" && mkdir -p "$ISO/isolinux"
(cd "$ROOTFS" && find . | cpio -o -H newc --quiet | gzip -1) >"$ISO/initrd.gz"
cp "$KERNEL" "$ISO/vmlinuz"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$ISO/isolinux/"
# no5lvl, idle=halt: Bochs mishandles 5-level paging on SMM exit and halts on mwait-based idle;
# nolapic: the legacy PIC timer path; clearcpuid: no XSAVES or PKU state in the kernel.
cat >"$ISO/isolinux/isolinux.cfg" <<'EOF'
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL /vmlinuz
  APPEND initrd=/initrd.gz console=ttyS0,115200 panic=-1 mitigations=off tsc=reliable no5lvl idle=halt lsm=none nolapic clearcpuid=xsaves,pku
EOF
xorriso -as mkisofs -quiet -o "$WORK/boot.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
  -no-emul-boot -boot-load-size 4 -boot-info-table "$ISO" 2>&1 | { grep -v -e RockRidge -e '^$' || true; }

# 6. Boot it. clock sync=none: guest time follows instructions, so the tests' own timings
#    are emulated seconds at 200 M instructions per second.
SERIAL="$WORK/serial.log"
rm -f "$SERIAL"
cat >"$WORK/bochsrc" <<EOF
megs: 1024
cpu: model=corei7_skylake_x, ips=200000000
romimage: file=$WORK/bochs-3.0/bios/bios.bin-1.13.0
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0-master: type=cdrom, path=$WORK/boot.iso, status=inserted
boot: cdrom
display_library: nogui
com1: enabled=1, mode=file, dev=$SERIAL
log: $WORK/bochs.log
panic: action=fatal
error: action=report
info: action=ignore
clock: sync=none, time0=local
EOF
log "booting (serial console: $SERIAL)"
timeout "${LOWP_EMU_TIMEOUT:-2400}" "$BOCHS" -q -f "$WORK/bochsrc" >"$WORK/bochs.stdout" 2>&1 || true

# 7. Every test binary must have run and passed on both tiers.
tr -d '\r' <"$SERIAL" | sed -n '/^=== cpu/,$p'
grep -q '^=== cpu: .*avx512f .*avx512_bf16' "$SERIAL" || die "the emulated CPU lacks avx512f or avx512_bf16"
grep -q '^=== cpu: .*vaes' "$SERIAL" || die "the emulated CPU lacks vaes"
for name in "${TESTS[@]}"; do
  grep -q "^=== $name rc=0" "$SERIAL" || die "$name did not pass on the AVX-512 tiers"
done
grep -q '^=== all done' "$SERIAL" || die "the emulated run did not finish"
log "all ${#TESTS[@]} test binaries passed on avx512 and avx512bf16"
exit
}
