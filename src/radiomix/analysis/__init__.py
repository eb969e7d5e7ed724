"""Robustness, harmonisation, selection and reduction: scikit-learn-compatible estimators over feature tables.

* :mod:`~radiomix.analysis.robustness`: ICC(1,1)/(2,1)/(3,1) (+ average-measure forms) with CIs, Lin's CCC,
  within-subject CV, phantom repeatability, :class:`ICCSelector`.
* :mod:`~radiomix.analysis.harmonise`: :class:`ComBat` (batch and covariates are columns of X).
* :mod:`~radiomix.analysis.select`: near-zero variance, correlation clusters, univariate FDR, mRMR, sparse models,
  stability selection, RFE.
* :mod:`~radiomix.analysis.reduce`: PCA and ICA on standardised features.
* :mod:`~radiomix.analysis.perturb`: image perturbations (Zwanenburg et al. 2019) and :func:`perturbation_icc`.
"""

from radiomix.analysis.harmonise import ComBat
from radiomix.analysis.reduce import ICAReduction, PCAReduction
from radiomix.analysis.robustness import (
    ICCSelector,
    ccc,
    concordance,
    icc,
    icc_from_array,
    phantom_repeatability,
    within_subject_cv,
)
from radiomix.analysis.select import (
    MRMR,
    CorrelationClusters,
    NearZeroVariance,
    RFESelector,
    SparseSelector,
    StabilitySelection,
    UnivariateFDR,
    benjamini_hochberg,
)

__all__ = [
    "MRMR",
    "ComBat",
    "CorrelationClusters",
    "ICAReduction",
    "ICCSelector",
    "NearZeroVariance",
    "PCAReduction",
    "RFESelector",
    "SparseSelector",
    "StabilitySelection",
    "UnivariateFDR",
    "benjamini_hochberg",
    "ccc",
    "concordance",
    "icc",
    "icc_from_array",
    "phantom_repeatability",
    "within_subject_cv",
]
