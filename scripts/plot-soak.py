#!/usr/bin/env python3
"""Draws a soak's CSV as a PNG: one panel per series over time, the warm-up shaded, and after it
the least-squares line the soak judged (chaos/soak-growth.ts) with its verdict.

    python plot-soak.py SOAK.csv SOAK.png [SOAK.json]

SOAK.json is the soak's summary (warm-up and fitted lines); without it the panels are drawn bare.
Run it with the Python that scripts/plot-tools.sh prints, which has matplotlib.
"""

import csv
import json
import math
import sys

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server or in CI
import matplotlib.pyplot as plt  # noqa: E402

PANELS = [
    ("rss_mb", "RSS (MiB)"),
    ("heap_used_mb", "V8 heap used (MiB)"),
    ("fds", "open file descriptors"),
    ("sockets", "open sockets"),
    ("eventloop_lag_ms", "event-loop lag (ms)"),
    ("unseals", "unseals (cumulative)"),
]


def read_csv(path):
    columns = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            for name, text in row.items():
                columns.setdefault(name, []).append(float(text) if text else math.nan)
    return columns


def read_summary(path):
    if not path:
        return None
    with open(path) as handle:
        return json.load(handle)


def draw_panel(axis, name, label, columns, summary):
    elapsed = columns.get("elapsed_s", [])
    axis.plot(elapsed, columns.get(name, []), linewidth=0.8, color="tab:blue")
    axis.set_ylabel(label, fontsize=8)
    axis.tick_params(labelsize=8)
    axis.grid(True, linewidth=0.3)
    if not summary:
        return
    warm_up = summary["warmUpS"]
    axis.axvspan(0, warm_up, color="0.85", zorder=0)
    result = next((r for r in summary["series"] if r["series"] == name), None)
    if not result or "line" not in result:
        return
    xs = [x for x in elapsed if x >= warm_up]
    if not xs:
        return
    # At least the limit's height above and below the fitted level, so the eye weighs a wiggle as the
    # rule does: a one-descriptor blip on a 22-23 axis would otherwise fill the panel.
    slope, intercept = result["line"]["slope"], result["line"]["intercept"]
    if result["verdict"] != "not judged":
        level = intercept + slope * xs[0]
        low, high = axis.get_ylim()
        low = max(0, min(low, level - result["limit"]))  # every series is a count or a size
        axis.set_ylim(low, max(high, level + result["limit"]))
    colour = {"grew": "tab:red", "flat": "tab:green"}.get(result["verdict"], "0.4")
    axis.plot(
        [xs[0], xs[-1]],
        [intercept + slope * xs[0], intercept + slope * xs[-1]],
        linestyle="--",
        linewidth=1.2,
        color=colour,
    )
    axis.set_title(
        f"{result['verdict']}: fitted climb {result['growth']:.2f}, limit {result['limit']:.2f}",
        fontsize=8,
        loc="right",
        color=colour,
    )


def main(argv):
    if len(argv) not in (3, 4):
        sys.stderr.write(__doc__)
        return 2
    columns = read_csv(argv[1])
    summary = read_summary(argv[3] if len(argv) == 4 else None)
    figure, axes = plt.subplots(len(PANELS), 1, sharex=True, figsize=(10, 2 * len(PANELS)))
    for axis, (name, label) in zip(axes, PANELS):
        draw_panel(axis, name, label, columns, summary)
    axes[-1].set_xlabel("seconds since the soak started (grey: warm-up, not judged)")
    title = "vault-autounseal soak: one sidecar, a server flapping every few seconds"
    if summary:
        minutes = summary["durationS"] / 60
        title += f" ({minutes:.1f} min)"
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(argv[2], dpi=100)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
