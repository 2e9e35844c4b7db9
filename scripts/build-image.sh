#!/usr/bin/env bash
# Builds the rmq image with no registry: static binaries from this checkout,
# busybox built from Debian's source with the applets of docker/busybox.config
# (scripts/build-busybox.sh), the bin/ scripts and conf/, staged in
# docker/context/ and packaged by docker/Dockerfile (FROM scratch).
#
#   scripts/build-image.sh [--tag NAME:TAG] [--bin-dir DIR] [--busybox PATH]
#
#   --tag      image name (default rmq:local, which is also tagged rmq:<version>)
#   --bin-dir  take mqnamesrv/mqbroker/mqadmin/mqproxy/mqcontroller from DIR instead of building
#              them (they must be statically linked)
#   --busybox  ship this busybox (static, with the applets the image uses) instead of
#              building one; also RMQ_BUSYBOX=PATH
#
# Environment: RMQ_STATIC_TARGET_DIR, the cargo target dir of the static build
# (default "$CARGO_TARGET_DIR-static", or target/static without CARGO_TARGET_DIR;
# kept apart from the ordinary builds, whose RUSTFLAGS differ); RMQ_BUSYBOX_DIR,
# scripts/build-busybox.sh's cache. Prints the image's size on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

tag=rmq:local
bin_dir=
busybox=${RMQ_BUSYBOX:-}
while [ $# -gt 0 ]; do
  case $1 in
    --tag) tag=$2; shift 2 ;;
    --bin-dir) bin_dir=$2; shift 2 ;;
    --busybox) busybox=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-image.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

say() { printf '==> %s\n' "$*"; }
die() { printf 'build-image.sh: %s\n' "$*" >&2; exit 1; }

version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -1)
[ -n "$version" ] || die "cannot read the workspace version from Cargo.toml"
servers="mqnamesrv mqbroker mqadmin mqproxy mqcontroller"

# --- binaries ------------------------------------------------------------------

if [ -z "$bin_dir" ]; then
  arch=$(uname -m)
  case $arch in
    x86_64|aarch64) triple=$arch-unknown-linux-gnu ;;
    *) die "no static build recipe for $arch" ;;
  esac
  if [ -n "${RMQ_STATIC_TARGET_DIR:-}" ]; then target_dir=$RMQ_STATIC_TARGET_DIR
  elif [ -n "${CARGO_TARGET_DIR:-}" ]; then target_dir=$CARGO_TARGET_DIR-static
  else target_dir=$root/target/static; fi
  # One multi-call binary, `rmq`, is all three servers/tools by the name it
  # runs under: shipping it once keeps the image small.
  say "static release build of rmq (multi-call: $servers) for $triple into $target_dir"
  # --target keeps RUSTFLAGS away from build scripts and proc-macros.
  # Relative relocations packed (RELR, glibc >= 2.36, binutils >= 2.38): the
  # position-independent binary keeps its ASLR and loses ~0.5 MB of .rela.dyn.
  # Identical code folding merges the functions generic code made identical
  # (0.15 MB); it needs LLD, rustc's default linker on x86_64 Linux only.
  icf=
  [ "$arch" = x86_64 ] && icf="-C link-arg=-Wl,--icf=all"
  RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static -C link-arg=-Wl,-z,pack-relative-relocs $icf" CARGO_TARGET_DIR=$target_dir \
    cargo build --release --locked --target "$triple" -p rmq-cli --bin rmq
  bin_dir=$target_dir/$triple/release
fi

# --- busybox -------------------------------------------------------------------

# Only the applets docker/busybox.config lists (~0.5 MB, where Debian's
# busybox-static with all of them is ~2 MB), built once and cached.
if [ -z "$busybox" ]; then
  busybox=$(scripts/build-busybox.sh) || die "scripts/build-busybox.sh failed"
fi
if [ ! -f "$busybox" ] || [ ! -x "$busybox" ]; then die "busybox $busybox is not an executable file"; fi
if ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked\|static-pie'; then
  die "busybox $busybox is not statically linked; the image has no C library"
fi
# What bin/*, docker/*.sh, the HEALTHCHECK and scripts/test-dist.sh run in a
# container, and /usr/bin/env.
bb_applets=" $("$busybox" --list | tr '\n' ' ') "
bb_missing=
for applet in sh [ awk cat dirname env grep head id kill ls mkdir nc od printf ps pwd readlink rm sed sleep test tr wc; do
  case $bb_applets in *" $applet "*) ;; *) bb_missing="$bb_missing $applet" ;; esac
done
[ -z "$bb_missing" ] || die "busybox $busybox lacks applets the image needs:$bb_missing"

# --- staging -------------------------------------------------------------------

ctx=docker/context
say "staging $ctx"
rm -rf "$ctx"
mkdir -p "$ctx"/rootfs/{bin,etc,tmp,opt,usr/bin} "$ctx"/home/rocketmq/{logs,store,namesrv}
home=$ctx/home/rocketmq/rocketmq
mkdir -p "$home"/{bin,lib,conf}

cp "$busybox" "$ctx/rootfs/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$ctx/rootfs/bin/$applet"
done
ln -s ../../bin/env "$ctx/rootfs/usr/bin/env"
chmod 1777 "$ctx/rootfs/tmp"
cat >"$ctx/rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
rocketmq:x:3000:3000:rocketmq:/home/rocketmq:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$ctx/rootfs/etc/group" <<'EOF'
root:x:0:
rocketmq:x:3000:
nogroup:x:65534:
EOF
printf 'hosts: files dns\n' >"$ctx/rootfs/etc/nsswitch.conf"
# The paths other images and guides use for the installation.
ln -s /home/rocketmq/rocketmq "$ctx/rootfs/opt/rocketmq"
ln -s rocketmq "$ctx/home/rocketmq/rocketmq-$version"

cp bin/mqnamesrv bin/mqbroker bin/mqproxy bin/mqcontroller bin/mqshutdown bin/mqadmin bin/rmq-common.sh "$home/bin/"
cp docker/docker-entrypoint.sh "$home/bin/docker-entrypoint.sh"
cp docker/healthcheck.sh "$home/bin/docker-healthcheck.sh"
chmod 755 "$home"/bin/*
cp -R conf/. "$home/conf/"

staged=
if [ -f "$bin_dir/rmq" ]; then
  # The multi-call binary once, and a link under each program's name.
  file -L "$bin_dir/rmq" | grep -q 'statically linked\|static-pie' \
    || die "$bin_dir/rmq is not statically linked; the image has no C library"
  cp "$bin_dir/rmq" "$home/lib/rmq"
  for b in $servers; do ln -s rmq "$home/lib/$b"; staged="$staged $b"; done
else
  # --bin-dir with separate binaries.
  for b in $servers; do
    if [ -f "$bin_dir/$b" ]; then
      if ! file -L "$bin_dir/$b" | grep -q 'statically linked\|static-pie'; then
        die "$bin_dir/$b is not statically linked; the image has no C library"
      fi
      cp "$bin_dir/$b" "$home/lib/$b"
      staged="$staged $b"
    fi
  done
fi
say "binaries in the image:${staged:- none}"
printf '%s\n' $staged >"$ctx/binaries.txt"

# --- image ---------------------------------------------------------------------

say "docker build -t $tag"
docker build -q -f docker/Dockerfile -t "$tag" \
  --label "org.opencontainers.image.version=$version" \
  --label "rmq.binaries=${staged# }" "$ctx" >/dev/null
also=
if [ "$tag" = rmq:local ]; then docker tag "$tag" "rmq:$version"; also=" (also rmq:$version)"; fi
size=$(docker image inspect -f '{{.Size}}' "$tag")
echo "image $tag$also: $size bytes ($(( (size + 524288) / 1048576 )) MiB), binaries:${staged:- none}"
