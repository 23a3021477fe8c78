"""Plots of an endpoint over the visit schedule by dose level (matplotlib, PNG or SVG).

Each dose level is one line: the mean at each visit with error bars of ± 1 SD (none when a visit
has a single subject), n written beside each point. Figures are built with matplotlib's
object-oriented API (no pyplot global state), so request threads do not share
a figure.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Literal

from imaging.reports.service import GroupSummary

ImageFormat = Literal["png", "svg"]


def line_plot(
    groups: Sequence[GroupSummary],
    *,
    visits: Sequence[str],
    use_change: bool,
    title: str,
    y_label: str,
    image_format: ImageFormat,
) -> bytes:
    # matplotlib takes seconds to import: loaded by the first plot, not by the service's start.
    from matplotlib.figure import Figure  # noqa: PLC0415

    figure = Figure(figsize=(8, 4.5), dpi=100)
    axes = figure.add_subplot()
    shown = [visit for visit in visits if any(g.visit == visit for g in groups)]
    position = {visit: index for index, visit in enumerate(shown)}
    for dose_level in sorted({g.dose_level for g in groups}, key=lambda d: (d is None, d or 0)):
        xs: list[int] = []
        ys: list[float] = []
        errors: list[float] = []
        for group in groups:
            summary = group.change if use_change else group.value
            if group.dose_level != dose_level or summary.mean is None:
                continue
            if group.visit not in position:
                continue
            xs.append(position[group.visit])
            ys.append(summary.mean)
            errors.append(summary.sd or 0.0)
            axes.annotate(
                f"n={summary.n}",
                (position[group.visit], summary.mean),
                textcoords="offset points",
                xytext=(4, 4),
                fontsize=7,
            )
        label = "dose level unknown" if dose_level is None else f"dose level {dose_level}"
        axes.errorbar(xs, ys, yerr=errors, marker="o", capsize=3, label=label)
    axes.set_xticks(range(len(shown)), [visit.replace("_", " ") for visit in shown])
    axes.set_xlabel("visit")
    axes.set_ylabel(y_label)
    axes.set_title(title)
    if use_change:
        axes.axhline(0.0, color="grey", linewidth=0.8)
    if groups:
        axes.legend()
    else:
        axes.text(0.5, 0.5, "no data yet", transform=axes.transAxes, ha="center")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format=image_format)
    return buffer.getvalue()
