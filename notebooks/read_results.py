"""Read a dmlsim run's tables with pyarrow and Polars and check their shape.

Usage: python3 notebooks/read_results.py OUT_DIR

CI runs this on the quickstart's output so the README's Python snippets
keep working with the Arrow files dmlsim writes.
"""

import json
import sys
from pathlib import Path

import polars as pl
import pyarrow.ipc as ipc

ROUNDS = ["round", "t_start_s", "t_end_s", "selected", "completed", "dropped",
          "bytes_up", "bytes_down", "test_accuracy", "test_loss"]
NODES = ["node_id", "operator_id", "profile", "region", "rounds_completed"]


def main(out: Path) -> None:
    rounds = ipc.open_file(out / "rounds.arrow").read_all()
    missing = [c for c in ROUNDS if c not in rounds.column_names]
    assert not missing, f"rounds.arrow lacks {missing}"
    assert rounds.schema.field("t_end_s").metadata[b"unit"] == b"s"

    nodes = pl.read_ipc(out / "nodes.arrow")
    missing = [c for c in NODES if c not in nodes.columns]
    assert not missing, f"nodes.arrow lacks {missing}"
    assert nodes.schema["profile"] == pl.Categorical or str(nodes.schema["profile"]).startswith("Categorical")

    run = json.loads((out / "run.json").read_text())
    assert run["rounds_completed"] == rounds.num_rows
    acc = rounds.column("test_accuracy").to_pylist()
    if "learning" in run:
        # A trained model: every round has a real accuracy.
        assert all(a is not None and 0.0 <= a <= 1.0 for a in acc), acc
        print(f"{run['learning']['dataset']} / {run['learning']['model']}: final test accuracy {acc[-1]:.3f}")
    else:
        # Timing-only: accuracy is null, never made up.
        assert all(a is None for a in acc)

    df = pl.from_arrow(rounds)
    print(df.select("round", "duration_s", "completed", "upload_s_mean").head(5))
    print(nodes.group_by("profile").agg(pl.len(), pl.col("rounds_completed").sum()).sort("profile"))
    print(f"ok: {rounds.num_rows} rounds, {nodes.height} nodes")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
