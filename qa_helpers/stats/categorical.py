"""Category mix (channel, category, ...): did it shift between the windows? Chi-square test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

def mix_shift(data: pd.DataFrame, by: str = "channel", *, window: str = "window") -> pd.DataFrame:
    """Did the mix of ``by`` (channel, category, ...) move between the windows?

    Pearson chi-square test of homogeneity on the window x ``by`` table (scipy
    ``chi2_contingency``; Yates' correction only for a 2 x 2 table, as R's ``chisq.test``).
    When it did move, report :func:`compare` with ``stratify=by`` next to the crude result.

    Parameters
    ----------
    data : DataFrame
        Observations with a ``window`` label (:func:`label_windows`); other windows are ignored.
    by : str
        The categorical column whose mix is compared; missing values count as ``(missing)``.
    window : str
        Column holding ``before`` / ``after``.

    Returns
    -------
    DataFrame
        One row per level of ``by``: ``<by>, n_before, n_after, share_before, share_after,
        change`` and the test, repeated on each row: ``chi2, dof, p``.
    """
    sub = data.loc[data[window].isin(["before", "after"])]
    levels = sub[by].astype(object).where(sub[by].notna(), "(missing)")
    table = pd.crosstab(levels, sub[window]).reindex(columns=["before", "after"], fill_value=0)
    if len(table) < 2 or (table.sum() == 0).any():
        chi2, p, dof = np.nan, np.nan, 0
    else:
        chi2, p, dof, _ = stats.chi2_contingency(table.to_numpy().T)
    out = pd.DataFrame({by: table.index.to_numpy(), "n_before": table["before"].to_numpy(),
                        "n_after": table["after"].to_numpy()})
    out["share_before"] = out["n_before"] / max(out["n_before"].sum(), 1)
    out["share_after"] = out["n_after"] / max(out["n_after"].sum(), 1)
    out["change"] = out["share_after"] - out["share_before"]
    out["chi2"], out["dof"], out["p"] = float(chi2), int(dof), float(p)
    return out
