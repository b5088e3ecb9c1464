"""Plot req/s against concurrency for every system and model (runs in the bench venv).

Usage: python plot.py RESULTS_JSON OUT_PNG
"""

from __future__ import annotations

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

SYSTEMS = [
    "pyserving REST",
    "pyserving gRPC",
    "pyserving zttp gRPC h2load",
    "FastAPI+TF REST",
    "MLServer REST",
    "ASGI ceiling REST",
    "gRPC ceiling gRPC",
]


def main(source: str, target: str) -> None:
    with open(source) as f:
        results = json.load(f)
    models = [m for m in ("half_plus_two", "mlp", "cnn", "wide_mlp") if m in results]
    figure, axes = plt.subplots(1, len(models), figsize=(6 * len(models), 4.5), squeeze=False)
    for axis, model in zip(axes[0], models, strict=True):
        levels = results["concurrency"]
        for system in (s for s in SYSTEMS if s in results[model]):
            axis.plot(
                levels,
                [results[model][system][str(c)]["rps"] for c in levels],
                marker="o",
                label=system,
            )
        if model != "half_plus_two":  # its limit (tens of millions of rows/s) is off the chart
            limit = results[model]["in_process"]["rows_per_s"] / results[model]["rows_per_request"]
            axis.axhline(limit, linestyle="--", color="grey", label="in-process limit")
        axis.set_xscale("log", base=2)
        axis.set_xticks(levels, [str(c) for c in levels])
        axis.set_yscale("log")
        axis.set_xlabel("concurrent clients")
        axis.set_ylabel("requests / s")
        axis.set_title(model)
        axis.grid(True, which="both", alpha=0.3)
    for axis in axes[0]:
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(target, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
