#!/usr/bin/env bash
# Builds every cargo-fuzz target of squall and runs each for SECONDS
# (default 20), starting from the seeds in fuzz/corpus/TARGET. New inputs
# libFuzzer finds go to a scratch corpus, so the committed seeds stay as
# they are; a crashing input is left in fuzz/artifacts/TARGET/ and the
# script exits 1 after trying every target.
#
#   fuzz/run.sh 20                 # CI: about 20 s a target
#   fuzz/run.sh 600 ndjson_ingest  # a longer run of one target
#   FUZZ_SEED=0 fuzz/run.sh 600    # a new random seed each run
#
# libFuzzer's seed is fixed (FUZZ_SEED, default 1) so that CI explores the
# same way on the same code and its verdict can be reproduced; a finding
# prints its input and the command that replays it. Exploratory runs use
# FUZZ_SEED=0, which lets libFuzzer pick a new seed.
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz
# --locked`). The sanitizer build goes to $FUZZ_TARGET_DIR (default
# $CARGO_TARGET_DIR/fuzz, else fuzz/target), never to the normal build's
# directory: its flags differ and would rebuild everything twice.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-20}"
seed="${FUZZ_SEED:-1}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
target_dir="${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:+$CARGO_TARGET_DIR/fuzz}}"
target_dir="${target_dir:-fuzz/target}"

echo "== fuzz: building ${#targets[@]} targets (address sanitizer, release) in $target_dir"
start=$SECONDS
# One cargo run for all of them (`cargo fuzz build` takes one target or all).
cargo +nightly fuzz build --target-dir "$target_dir"
echo "fuzz build: $((SECONDS - start)) s"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failed=()
for t in "${targets[@]}"; do
    mkdir -p "$scratch/$t" "fuzz/corpus/$t"
    log="$scratch/$t.log"
    echo "== fuzz: $t for ${seconds} s"
    # -timeout: one input taking 10 s is a finding (a hang), not patience.
    if timeout --signal=KILL "$((seconds + 120))" \
        cargo +nightly fuzz run --target-dir "$target_dir" "$t" "$scratch/$t" "fuzz/corpus/$t" -- \
        -max_total_time="$seconds" -seed="$seed" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1; then
        grep -E '^Done [0-9]+ runs|stat::number_of_executed_units|cov: ' "$log" | tail -n 2
    else
        echo "!! fuzz target $t failed; its log ends:"
        tail -n 40 "$log"
        failed+=("$t")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: FAILED: ${failed[*]} (inputs in fuzz/artifacts/)"
    exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${seconds} s each without a finding"
