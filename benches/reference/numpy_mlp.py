"""NumPy reference for the local-training bench: one epoch of mini-batch SGD
with momentum on the digits MLP (64-64-10, batch 32), the same arithmetic as
dmlsim_models::train::train_local. Prints samples per second.

Usage: python3 benches/reference/numpy_mlp.py   (needs numpy)
Run it right after `cargo bench -p dmlsim-benches --bench learning` and
compare in the same session; pin one thread to match criterion's one core:
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python3 benches/reference/numpy_mlp.py
"""

import time
from pathlib import Path

import numpy as np

root = Path(__file__).resolve().parents[2]
data = np.loadtxt(root / "models/data/digits/digits.csv", delimiter=",", dtype=np.float32)
x, y = data[:, :64], data[:, 64].astype(np.int64)
x = (x - x.mean(0)) / np.where(x.std(0) > 0, x.std(0), 1)
rng = np.random.default_rng(1)
sizes = [64, 64, 10]
w = [rng.normal(0, np.sqrt(2 / sizes[0]), (64, 64)).astype(np.float32), rng.normal(0, np.sqrt(1 / 64), (64, 10)).astype(np.float32)]
b = [np.zeros(64, np.float32), np.zeros(10, np.float32)]
v = [np.zeros_like(p) for p in w + b]


def epoch():
    order = rng.permutation(len(y))
    for s in range(0, len(y), 32):
        idx = order[s:s + 32]
        xb, yb = x[idx], y[idx]
        h = np.maximum(xb @ w[0] + b[0], 0)
        z = h @ w[1] + b[1]
        z -= z.max(1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(1, keepdims=True)
        p[np.arange(len(yb)), yb] -= 1
        dz = p / len(yb)
        grads = [None, h.T @ dz, None, dz.sum(0)]
        dh = (dz @ w[1].T) * (h > 0)
        grads[0], grads[2] = xb.T @ dh, dh.sum(0)
        params = [w[0], w[1], b[0], b[1]]
        for k, (param, g) in enumerate(zip(params, grads)):
            v[k] = 0.9 * v[k] + g
            param -= 0.05 * v[k]


epoch()
runs = 20
start = time.perf_counter()
for _ in range(runs):
    epoch()
elapsed = (time.perf_counter() - start) / runs
print(f"numpy mlp_64_64_10: {elapsed * 1e3:.2f} ms/epoch, {len(y) / elapsed / 1e3:.1f} K samples/s")
