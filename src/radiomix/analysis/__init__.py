"""Robustness, harmonisation, selection and reduction: scikit-learn-compatible estimators over feature tables.

* :mod:`~radiomix.analysis.robustness`: ICC(1,1)/(2,1)/(3,1) (+ average-measure forms) with CIs, Lin's CCC,
  within-subject CV, phantom repeatability, :class:`ICCSelector`.
* :mod:`~radiomix.analysis.harmonise`: :class:`ComBat` (batch and covariates are columns of X).
* :mod:`~radiomix.analysis.select`: near-zero variance, correlation clusters, univariate FDR, mRMR, sparse models,
  stability selection, RFE.
* :mod:`~radiomix.analysis.reduce`: PCA and ICA on standardised features.
* :mod:`~radiomix.analysis.perturb`: image perturbations (Zwanenburg et al. 2019) and :func:`perturbation_icc`.
* :mod:`~radiomix.analysis.perturbation_study`: :func:`robustness_table` (per-feature ICC with CI and rank over
  perturbations, one image or a cohort, cases read one at a time).
* :mod:`~radiomix.analysis.sensitivity`: :func:`settings_sensitivity` (ICC and CV across a grid of settings).
* :mod:`~radiomix.analysis.models`: outcome models, :func:`train` (nested CV, bootstrap CIs, comparison, final model,
  explanations) and :func:`evaluate` (external data); configuration in :mod:`~radiomix.analysis.pipelines`,
  nested CV in :mod:`~radiomix.analysis.validation`, metrics and DeLong in :mod:`~radiomix.analysis.metrics`,
  survival helpers in :mod:`~radiomix.analysis.survival`, :mod:`~radiomix.analysis.delta`,
  :mod:`~radiomix.analysis.radiogenomics`, :mod:`~radiomix.analysis.explain`, :mod:`~radiomix.analysis.modelio`,
  simulated cohorts in :mod:`~radiomix.analysis.simulate`.
"""

from radiomix.analysis.delta import delta_features
from radiomix.analysis.harmonise import ComBat
from radiomix.analysis.metrics import delong_test
from radiomix.analysis.models import EvaluationResult, ModelConfig, TrainResult, evaluate, train
from radiomix.analysis.perturbation_study import robustness_table
from radiomix.analysis.radiogenomics import association_matrix, associations
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
from radiomix.analysis.sensitivity import settings_sensitivity
from radiomix.analysis.survival import kaplan_meier, logrank_test

__all__ = [
    "MRMR",
    "ComBat",
    "CorrelationClusters",
    "EvaluationResult",
    "ICAReduction",
    "ICCSelector",
    "ModelConfig",
    "NearZeroVariance",
    "PCAReduction",
    "RFESelector",
    "SparseSelector",
    "StabilitySelection",
    "TrainResult",
    "UnivariateFDR",
    "association_matrix",
    "associations",
    "benjamini_hochberg",
    "ccc",
    "concordance",
    "delong_test",
    "delta_features",
    "evaluate",
    "icc",
    "icc_from_array",
    "kaplan_meier",
    "logrank_test",
    "phantom_repeatability",
    "robustness_table",
    "settings_sensitivity",
    "train",
    "within_subject_cv",
]
