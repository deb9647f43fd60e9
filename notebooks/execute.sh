#!/usr/bin/env bash
# Execute notebooks/run.ipynb and notebooks/sweep.ipynb headless against fresh
# small runs and sweeps, so the notebooks cannot rot: exits non-zero if a run
# or sweep fails, if any notebook cell raises, or if an expected figure is
# missing or empty (or a figure appears for a table the run did not write).
#
# Usage, from the repository root, with notebooks/requirements.txt installed:
#   bash notebooks/execute.sh [DMLSIM_BINARY] [WORK_DIR]
# DMLSIM_BINARY defaults to target/release/dmlsim. WORK_DIR (runs, sweeps,
# executed notebooks with their outputs, PNGs) defaults to a new temporary
# folder, removed on success and kept on failure; a WORK_DIR you name is kept.
# PYTHON picks the interpreter that has the requirements (default python3).
set -euo pipefail

BIN=${1:-target/release/dmlsim}
[[ -x "$BIN" ]] || { echo "execute.sh: no dmlsim binary at $BIN (build it, or pass its path)" >&2; exit 2; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}
cd "$ROOT"

if [[ -n "${2:-}" ]]; then
  WORK=$(mkdir -p "$2" && cd "$2" && pwd)
  rm -rf "$WORK/runs" "$WORK/sweeps" "$WORK/figures" "$WORK/executed"
  CLEANUP=0
else
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/dmlsim-notebooks.XXXXXX")
  CLEANUP=1
fi
mkdir -p "$WORK/runs" "$WORK/sweeps" "$WORK/figures" "$WORK/executed"
echo "== notebooks: working in $WORK"
START=$SECONDS

# Runs: each exercises different sections of run.ipynb.
#   digits-iid     learning only (no economics: the economic charts are skipped)
#   reward-curves  economics with operator entry and exit, timing-only (no accuracy)
#   free-riders    learning, economics and verification (behaviours.arrow)
#   cloud-parity   economics with a cloud baseline (cloud_cost_usd)
RUNS=(digits-iid reward-curves free-riders cloud-parity)
for name in "${RUNS[@]}"; do
  "$BIN" run "scenarios/$name.yaml" --out "$WORK/runs/$name" --quiet
done

# Sweeps: a small version of sweeps/emission-by-price.yaml (2 curves × 2 prices
# × 2 replicates), and a learning-only sweep with a numeric grid and random
# points (no epochs: the economic charts are skipped, the accuracy chart drawn).
cat > "$WORK/sweeps/emission-by-price-small.yaml" <<EOF
name: emission-by-price-small
scenario: $ROOT/scenarios/reward-curves.yaml
set: { economics.emission_budget: 25000, horizon: 1d }
grid:
  economics.emission:
    - { constant: { per_epoch: 1000 } }
    - { halving: { initial: 2000, every_epochs: 6 } }
  economics.token_price:
    - { gbm: { initial_usd: 0.02, mu: 0.0, sigma: 0.8 } }
    - { gbm: { initial_usd: 0.10, mu: 0.0, sigma: 0.8 } }
replicates: 2
vary_seeds: [price, selection]
tables: [rounds, epochs, operators]
EOF
cat > "$WORK/sweeps/digits-small.yaml" <<EOF
name: digits-small
scenario: $ROOT/scenarios/digits-iid.yaml
set: { rounds.count: 15 }
grid:
  rounds.clients_per_round: [5, 10]
random:
  samples: 2
  seed: 1
  fields:
    learning.local.learning_rate: { uniform: [0.02, 0.1] }
replicates: 2
vary_seeds: [selection, training]
tables: [rounds]
EOF
SWEEPS=(emission-by-price-small digits-small)
for name in "${SWEEPS[@]}"; do
  "$BIN" sweep "$WORK/sweeps/$name.yaml" --out "$WORK/sweeps/$name" --quiet
done
echo "   runs and sweeps written in $((SECONDS - START)) s"

# Execute a notebook; nbconvert exits non-zero when a cell raises.
execute() { # NOTEBOOK OUTPUT_NAME, with the DMLSIM_* variables in the environment
  local t=$SECONDS
  if ! "$PYTHON" -m nbconvert --to notebook --execute --log-level=WARN \
      --ExecutePreprocessor.timeout=300 \
      --output-dir "$WORK/executed" --output "$2" "notebooks/$1" 2>&1 \
      | { grep -v "Kernel is running over TCP without encryption" || true; } \
      || [[ ! -s "$WORK/executed/$2.ipynb" ]]; then
    echo "FAIL: notebooks/$1 ($2): a cell raised or nbconvert failed (see above)" >&2
    return 1
  fi
  echo "   $1 -> executed/$2.ipynb ($((SECONDS - t)) s)"
}

FAILED=0
# expect DIR present... -- absent...: each present PNG must exist and be a
# non-empty PNG; each absent one must not exist (its chart was skipped).
expect() {
  local dir=$1 mode=present name f
  shift
  for name in "$@"; do
    if [[ "$name" == "--" ]]; then mode=absent; continue; fi
    f="$dir/$name.png"
    if [[ $mode == present ]]; then
      if [[ ! -s "$f" || "$(head -c 4 "$f" | tail -c 3)" != "PNG" ]]; then
        echo "FAIL: $f is missing, empty or not a PNG" >&2
        FAILED=1
      fi
    elif [[ -e "$f" ]]; then
      echo "FAIL: $f exists, but its chart should have been skipped" >&2
      FAILED=1
    fi
  done
}

run_notebook() { # RUN_NAME
  local name=$1
  DMLSIM_RUN="$WORK/runs/$name" DMLSIM_FIGURES="$WORK/figures/run-$name" execute run.ipynb "run-$name"
}
sweep_notebook() { # SWEEP_NAME
  local name=$1
  DMLSIM_SWEEP="$WORK/sweeps/$name" DMLSIM_FIGURES="$WORK/figures/sweep-$name" execute sweep.ipynb "sweep-$name"
}

ECONOMY=(supply concentration operators operator_profit cost)
for name in "${RUNS[@]}"; do
  run_notebook "$name" || FAILED=1
done
for name in "${SWEEPS[@]}"; do
  sweep_notebook "$name" || FAILED=1
done

expect "$WORK/figures/run-digits-iid" accuracy round_duration -- "${ECONOMY[@]}" behaviours
expect "$WORK/figures/run-reward-curves" round_duration "${ECONOMY[@]}" -- accuracy behaviours
expect "$WORK/figures/run-free-riders" accuracy round_duration "${ECONOMY[@]}" behaviours
expect "$WORK/figures/run-cloud-parity" round_duration "${ECONOMY[@]}" -- accuracy behaviours
expect "$WORK/figures/sweep-emission-by-price-small" metric survival supply operators_in_network -- accuracy
expect "$WORK/figures/sweep-digits-small" metric accuracy -- survival supply operators_in_network

if [[ $FAILED != 0 ]]; then
  echo "== notebooks: FAILED after $((SECONDS - START)) s; executed notebooks and figures kept in $WORK" >&2
  exit 1
fi
echo "== notebooks: ok in $((SECONDS - START)) s ($(find "$WORK/figures" -name '*.png' | wc -l) figures)"
if [[ $CLEANUP == 1 ]]; then rm -rf "$WORK"; fi
