#!/bin/bash
# Submits a sweep as a Slurm job array of N shards and queues the merge.
#   deploy/slurm/submit.sh sweeps/emission-by-price.yaml /scratch/$USER/emission 16
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "usage: $0 SWEEP.yaml OUT_FOLDER SHARDS" >&2
  exit 2
fi
export SWEEP=$1 OUT=$2
SHARDS=$3
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
ARRAY=$(sbatch --parsable --array=0-$((SHARDS - 1)) --export=ALL "$HERE/sweep.sbatch")
sbatch --dependency=afterok:"$ARRAY" --export=ALL "$HERE/merge.sbatch"
echo "array job $ARRAY: $SHARDS shards into $OUT/shard-*, merged into $OUT/merged"
