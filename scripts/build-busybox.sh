#!/usr/bin/env bash
# Builds the image's busybox: Debian's busybox source package (Debian's
# patches applied by dpkg-source), only the applets docker/busybox.config
# enables, linked statically against musl: ~0.5 MB, where the same applets
# with glibc's static C library weigh 1.6 MB (Debian's busybox-static: 2 MB).
#
#   scripts/build-busybox.sh [DIR]
#
#   DIR  cache directory (else $RMQ_BUSYBOX_DIR, else "$CARGO_TARGET_DIR-busybox",
#        or target/busybox without CARGO_TARGET_DIR)
#
# The binary lands in DIR/<source version>-<hash>/busybox, the hash covering
# docker/busybox.config's settings, the source version and the toolchain: when it is
# there already, nothing is built. Its path is the one line on stdout; the
# progress lines go to stderr. Needs apt (Debian): it adds a deb-src entry
# for the release and installs dpkg-dev and musl-tools when they are missing
# (as root, or through sudo). Environment: RMQ_BUSYBOX_JOBS (make -j, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

say() { printf '==> busybox: %s\n' "$*" >&2; }
die() { printf 'build-busybox.sh: %s\n' "$*" >&2; exit 1; }
case ${1:-} in -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
[ $# -le 1 ] || die "too many arguments (see --help)"

config=$root/docker/busybox.config
[ -r "$config" ] || die "$config is missing"
if [ -n "${1:-}" ]; then dir=$1
elif [ -n "${RMQ_BUSYBOX_DIR:-}" ]; then dir=$RMQ_BUSYBOX_DIR
elif [ -n "${CARGO_TARGET_DIR:-}" ]; then dir=$CARGO_TARGET_DIR-busybox
else dir=$root/target/busybox; fi
mkdir -p "$dir/src"
dir=$(cd "$dir" && pwd)
jobs=${RMQ_BUSYBOX_JOBS:-2}
# Bumped when the way the binary is built changes (the cache key includes it).
recipe=1

log=$(mktemp)
build=
trap 'rm -f "$log"; [ -z "$build" ] || rm -rf "$build"' EXIT
# run WHAT CMD...: runs CMD with its output in the log; on failure prints the
# end of the log and exits.
run() {
  local what=$1
  shift
  if ! "$@" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "$what failed: $*"
  fi
}
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "root is needed for: $* (run scripts/ci-deps.sh as root first)"; fi
}
command -v apt-get >/dev/null 2>&1 || die "apt-get is needed (Debian's busybox source package); or pass a busybox to scripts/build-image.sh --busybox"

updated=
apt_update() {
  [ -n "$updated" ] && return 0
  say "apt-get update"
  run "apt-get update" as_root apt-get update -qq
  updated=1
}

# --- tools ---------------------------------------------------------------------

multiarch=$(gcc -print-multiarch 2>/dev/null || true)
need=()
command -v dpkg-source >/dev/null 2>&1 || need+=(dpkg-dev)
command -v musl-gcc >/dev/null 2>&1 || need+=(musl-tools)
command -v gcc >/dev/null 2>&1 || need+=(gcc)
command -v make >/dev/null 2>&1 || need+=(make)
[ -f /usr/include/linux/version.h ] || need+=(linux-libc-dev)
if [ ${#need[@]} -gt 0 ]; then
  apt_update
  say "installing ${need[*]}"
  run "apt-get install" as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${need[@]}"
  multiarch=$(gcc -print-multiarch)
fi
if [ -z "$multiarch" ] || [ ! -d "/usr/include/$multiarch/asm" ]; then
  die "the kernel headers' asm/ directory is missing (/usr/include/$multiarch/asm: apt-get install linux-libc-dev)"
fi

# --- which source ----------------------------------------------------------------

# The .dsc file apt would fetch, e.g. busybox_1.35.0-4+deb12u1.dsc (asked in
# an empty directory: apt lists no URI for files it finds already there).
source_dsc() {
  local empty
  empty=$(mktemp -d)
  (cd "$empty" && apt-get source --print-uris busybox 2>/dev/null) \
    | sed -n "s/^'[^']*' \(busybox_[^ ]*\.dsc\) .*/\1/p" | head -n 1
  rmdir "$empty"
}
dsc=$(source_dsc)
if [ -z "$dsc" ]; then
  if ! grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    # shellcheck source=/dev/null
    codename=$(. /etc/os-release 2>/dev/null && [ "${ID:-}" = debian ] && echo "${VERSION_CODENAME:-}")
    [ -n "$codename" ] || die "no deb-src entry in apt's sources, and this is no Debian release to add one for"
    say "adding a deb-src entry for Debian $codename (/etc/apt/sources.list.d/debian-src.sources)"
    printf '%s\n' 'Types: deb-src' 'URIs: http://deb.debian.org/debian' "Suites: $codename" \
      'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' \
      | as_root tee /etc/apt/sources.list.d/debian-src.sources >/dev/null
  fi
  updated=
  apt_update
  dsc=$(source_dsc)
  [ -n "$dsc" ] || die "apt finds no busybox source package (apt-get source --print-uris busybox)"
fi
version=${dsc#busybox_}
version=${version%.dsc}
musl=$(dpkg-query -W -f='${Version}' musl-dev 2>/dev/null || echo unknown)
# Comments of the config do not count.
key=$( { grep -E '^CONFIG_' "$config"; printf 'version=%s musl=%s arch=%s recipe=%s\n' "$version" "$musl" "$multiarch" "$recipe"; } \
  | sha256sum | cut -c1-16)
out=$dir/$version-$key
if [ -x "$out/busybox" ]; then
  say "up to date: $out/busybox"
  echo "$out/busybox"
  exit 0
fi

# --- fetch and unpack --------------------------------------------------------------

if [ ! -f "$dir/src/$dsc" ]; then
  say "fetching Debian's busybox $version source"
  (cd "$dir/src" && run "apt-get source" apt-get source --download-only busybox)
  [ -f "$dir/src/$dsc" ] || die "apt-get source did not fetch $dsc"
fi
# Next to the .dsc, so that dpkg-source does not copy the tarball out.
build=$dir/src/build-$key.$$
say "unpacking $dsc with Debian's patches"
run "dpkg-source -x" dpkg-source -x "$dir/src/$dsc" "$build"

# --- configure ------------------------------------------------------------------------

say "configuring: make allnoconfig + docker/busybox.config"
cd "$build"
export SOURCE_DATE_EPOCH
SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -STimestamp)
run "make allnoconfig" make allnoconfig
# Each option of the fragment replaces its line of .config; an option kconfig
# does not know is an error.
awk '
  NR == FNR {
    if (match($0, /^CONFIG_[A-Za-z0-9_]+=/)) { k = substr($0, 1, RLENGTH - 1); want[k] = $0 }
    next
  }
  {
    k = ""
    if (match($0, /^CONFIG_[A-Za-z0-9_]+=/)) k = substr($0, 1, RLENGTH - 1)
    else if ($0 ~ /^# CONFIG_[A-Za-z0-9_]+ is not set$/) k = $2
    if (k in want) { print want[k]; seen[k] = 1 } else print
  }
  END { for (k in want) if (!(k in seen)) { print "unknown option " k > "/dev/stderr"; bad = 1 } exit bad }
' "$config" .config >.config.new || die "docker/busybox.config names options busybox $version does not have"
mv .config.new .config
# Options the fragment leaves out keep allnoconfig's "no"; oldconfig settles
# dependencies (and would give a new option its default).
run "make oldconfig" sh -c "yes '' | make oldconfig"
missing=$(grep -E '^CONFIG_[A-Za-z0-9_]+=' "$config" | grep -vxFf .config || true)
[ -z "$missing" ] || die "kconfig dropped these settings of docker/busybox.config (unmet dependencies?): ${missing//$'\n'/ }"

# --- build ----------------------------------------------------------------------------

# musl-gcc leaves out /usr/include, where the kernel's headers are: give it
# only those.
mkdir -p kernel-headers
ln -s /usr/include/linux /usr/include/asm-generic "/usr/include/$multiarch/asm" kernel-headers/
say "make -j$jobs (static, musl)"
run "make busybox" make -j"$jobs" busybox \
  CC="musl-gcc -isystem $build/kernel-headers" BB_EXTRA_VERSION="Debian $version"
file -L busybox | grep -q 'statically linked' || die "$build/busybox is not statically linked: $(file -L busybox)"
./busybox true || die "$build/busybox does not run"
mkdir -p "$out"
cp busybox "$out/busybox.tmp"
cp .config "$out/config"
mv "$out/busybox.tmp" "$out/busybox"
cd "$root"
say "built $out/busybox ($(wc -c <"$out/busybox") bytes, $("$out/busybox" --list | wc -l) applets)"
echo "$out/busybox"
