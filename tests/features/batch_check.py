"""Shared check for the batch feature evaluators of the directional texture families (GLCM, GLRLM)."""

from __future__ import annotations

import numpy as np


def assert_batch_matches(evaluate, evaluate_batch, stack: np.ndarray, atol) -> None:
    """``evaluate_batch(stack)`` row by row against the one-matrix ``evaluate``: a NaN row for an empty matrix, else
    every feature within 1e-12 relative plus ``atol`` (a scalar or one value per feature), NaN where it is NaN."""
    got = evaluate_batch(stack)
    for k, mat in enumerate(stack):
        want = evaluate(mat)
        if want is None:
            assert np.isnan(got[k]).all(), k
            continue
        close = np.abs(got[k] - want) <= np.asarray(atol) + 1e-12 * np.abs(want)
        assert np.all(close | (np.isnan(got[k]) & np.isnan(want))), (k, got[k] - want)
