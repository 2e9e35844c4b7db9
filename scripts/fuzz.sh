#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer through cargo-fuzz) of every decoder that
# reads bytes a peer or a disk controls: remoting frames and both header forms,
# every typed request header, request and response bodies, the HA wire,
# CommitLog records, message properties, SQL92 filters and fastjson text.
#
#   scripts/fuzz.sh [SECONDS]   each target runs SECONDS (default 20), then the
#                               next; exits non-zero at the first crash, whose
#                               input is left in fuzz/artifacts/<target>/
#
# The corpus grows under $CARGO_TARGET_DIR/fuzz-corpus (or fuzz/corpus), seeded
# from fuzz/seeds. No sanitizer: the decoders are safe Rust, so what libFuzzer
# looks for here is a panic, an overflow (checks are on) or a runaway allocation.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# cargo-fuzz passes flags only nightly accepts by default; the stable compiler
# takes them with this switch (the one toolchain this machine has is stable).
export RUSTC_BOOTSTRAP=1
work=${CARGO_TARGET_DIR:-fuzz/target}
target_dir="$work/fuzz"
corpus_root="$work/fuzz-corpus"
[ -n "${CARGO_TARGET_DIR:-}" ] || corpus_root=fuzz/corpus

cargo fuzz build --fuzz-dir fuzz --target-dir "$target_dir" -s none
for target in $(cargo fuzz list --fuzz-dir fuzz); do
  mkdir -p "$corpus_root/$target" "fuzz/seeds/$target"
  printf '\n==> fuzz %s for %ss\n' "$target" "$seconds"
  log="$work/fuzz-$target.log"
  if cargo fuzz run --fuzz-dir fuzz --target-dir "$target_dir" -s none "$target" \
    "$corpus_root/$target" "fuzz/seeds/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 >"$log" 2>&1; then
    grep -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)' "$log" | tr '\n' ' '
    echo
  else
    tail -n 40 "$log" >&2
    echo "fuzz target $target failed: the input is in fuzz/artifacts/$target/, the log in $log" >&2
    exit 1
  fi
done
