"""The kit's matplotlib heat map draws what seaborn.heatmap draws (without importing scipy.stats)."""

import matplotlib

matplotlib.use("agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

from qa_helpers.report.heatmap import heatmap  # noqa: E402
from qa_helpers.report.plots import set_style  # noqa: E402


def _pixels(fig) -> np.ndarray:
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy()


def _texts(ax) -> list:
    return [(t.get_text(), t.get_position(), t.get_color(), t.get_rotation()) for t in ax.texts]


def _ticks(ax) -> list:
    return [(list(ax.get_xticks()), [(t.get_text(), t.get_rotation()) for t in ax.get_xticklabels()]),
            (list(ax.get_yticks()), [(t.get_text(), t.get_rotation()) for t in ax.get_yticklabels()])]


def _grids():
    rng = np.random.default_rng(7)
    kappa = pd.DataFrame(rng.uniform(0, 1, (6, 6)), index=[f"R{i:02d}" for i in range(6)],
                         columns=[f"R{i:02d}" for i in range(6)])
    kappa.iloc[1, 3] = kappa.iloc[3, 1] = np.nan
    many = pd.DataFrame(rng.uniform(0, 1, (50, 50)), index=[f"reviewer-{i:02d}" for i in range(50)],
                        columns=[f"reviewer-{i:02d}" for i in range(50)])
    many[many < 0.8] = np.nan
    shares = pd.DataFrame(rng.uniform(0, 0.6, (7, 5)), index=["账单", "网络故障", "Long topic label", "d", "e", "f", "g"],
                          columns=[f"渠道 {i}\n(n={i * 1234:,})" for i in range(5)])
    weekly = pd.DataFrame(rng.integers(0, 900, (5, 52)).astype(float), index=["chat", "email", "onsite", "phone", "social"],
                          columns=[d.strftime("%m-%d") for d in pd.date_range("2025-01-06", periods=52, freq="7D")])
    kpis = pd.DataFrame(rng.uniform(0.5, 0.95, (12, 6)), index=[f"HL-{i}" for i in range(12)],
                        columns=[f"2025-{m:02d}" for m in range(1, 7)])
    kpis.iloc[2, 4] = kpis.iloc[7, 0] = np.nan
    return [
        (kappa, dict(vmin=0, vmax=1, cmap="viridis", annot=True, fmt=".2f", linewidths=0.5,
                     cbar_kws={"label": "Cohen κ (quadratic)"}),
         dict(vmin=0, vmax=1, cmap="viridis", annot=True, fmt=".2f", linewidths=0.5, cbar_label="Cohen κ (quadratic)"),
         (6, 5)),
        (many, dict(vmin=0, vmax=1, cmap="viridis", annot=True, fmt=".2f", linewidths=0.5, cbar_kws={"label": "κ"}),
         dict(vmin=0, vmax=1, cmap="viridis", annot=True, fmt=".2f", linewidths=0.5, cbar_label="κ"), (6, 5)),
        (shares, dict(annot=shares.map(lambda v: f"{v:.0%}"), fmt="", cmap="Reds", linewidths=0.5,
                      cbar_kws={"label": "Share", "format": PercentFormatter(1.0, decimals=0)}),
         dict(annot=shares.map(lambda v: f"{v:.0%}"), fmt="", cmap="Reds", linewidths=0.5, cbar_label="Share",
              cbar_format=PercentFormatter(1.0, decimals=0)), (9, 4)),
        # report.plots' two: tickets per channel and week (52 columns, no annotation), a KPI grid with gaps
        (weekly, dict(cmap="Blues", linewidths=0.5, cbar_kws={"label": "Tickets"}),
         dict(cmap="Blues", linewidths=0.5, cbar_label="Tickets"), (12, 3.5)),
        (kpis, dict(annot=kpis.map(lambda v: f"{v:.1%}"), fmt="", cmap="RdYlGn", linewidths=0.5,
                    cbar_kws={"label": "FCR", "format": PercentFormatter(1.0)}),
         dict(annot=kpis.map(lambda v: f"{v:.1%}"), fmt="", cmap="RdYlGn", linewidths=0.5, cbar_label="FCR",
              cbar_format=PercentFormatter(1.0)), (10, 5)),
    ]


@pytest.mark.parametrize("case", range(5))
def test_heatmap_draws_what_seaborn_draws(case):
    sns = pytest.importorskip("seaborn")
    set_style("zh" if case == 2 else "en")  # CJK labels drawn in the kit's CJK font
    grid, theirs, ours, size = _grids()[case]
    fig_a, ax_a = plt.subplots(figsize=size)
    sns.heatmap(grid, ax=ax_a, **theirs)
    fig_b, ax_b = plt.subplots(figsize=size)
    heatmap(grid, ax_b, **ours)
    assert _texts(ax_b) == _texts(ax_a)
    assert _ticks(ax_b) == _ticks(ax_a)
    assert [s.get_visible() for s in ax_b.spines.values()] == [s.get_visible() for s in ax_a.spines.values()]
    assert fig_b.axes[1].get_ylabel() == fig_a.axes[1].get_ylabel()
    assert np.array_equal(_pixels(fig_b), _pixels(fig_a))
    plt.close("all")


def test_heatmap_leaves_blank_cells_unannotated():
    grid = pd.DataFrame([[0.2, np.nan], [np.nan, 0.9]], index=["a", "b"], columns=["x", "y"])
    fig, ax = plt.subplots()
    heatmap(grid, ax, cmap="viridis", vmin=0, vmax=1, annot=True, fmt=".1f")
    assert [t.get_text() for t in ax.texts] == ["0.2", "0.9"]
    assert [t.get_color() for t in ax.texts] == ["w", ".15"]  # white on dark viridis, dark on light
    plt.close(fig)
