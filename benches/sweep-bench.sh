#!/usr/bin/env bash
# Sweep throughput: runs per minute with 1 and 2 threads and the peak
# resident memory of the whole sweep process (GNU time), for the 50- and
# 200-run quickstart sweeps and the 60-run free-riding frontier. Each
# sweep starts from an empty folder.
#   bash benches/sweep-bench.sh [path/to/dmlsim]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/dmlsim}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
printf '%-28s %5s %7s %9s %10s %9s\n' sweep jobs runs wall_s runs/min peak_MiB
for sweep in benches/sweeps/quickstart-50.yaml benches/sweeps/quickstart-200.yaml sweeps/free-riding-frontier.yaml; do
  for jobs in 1 2; do
    dir="$OUT/$(basename "$sweep" .yaml)-$jobs"
    /usr/bin/time -f '%e %M' -o "$OUT/time" "$BIN" sweep "$sweep" --out "$dir" --jobs "$jobs" --quiet
    read -r wall kb < "$OUT/time"
    runs=$(ls "$dir/runs" | wc -l)
    awk -v s="$(basename "$sweep" .yaml)" -v j="$jobs" -v r="$runs" -v w="$wall" -v k="$kb" \
      'BEGIN { printf "%-28s %5d %7d %9.2f %10.0f %9.1f\n", s, j, r, w, r / w * 60, k / 1024 }'
  done
done
