"""Held-out metrics: ROC AUC and Spearman rank correlation (SciPy, no sklearn here)."""

import numpy as np
from scipy.stats import rankdata, spearmanr


def auc(labels, scores) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula; ties get average ranks."""
    labels = np.asarray(labels).astype(bool)
    ranks = rankdata(np.asarray(scores, dtype=np.float64))
    pos = labels.sum()
    neg = labels.size - pos
    return float((ranks[labels].sum() - pos * (pos + 1) / 2) / (pos * neg))


def spearman(a, b) -> float:
    return float(spearmanr(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)).correlation)
