"""Simulated radiomics cohorts with a known signal, for testing and benchmarking outcome models.

Every outcome is driven by the same linear predictor ``lp = b1 * z1 + b2 * z2`` of two latent "texture" features
(:data:`TRUE_FEATURES`) plus noise; all other features are pure noise. Each site shifts and scales every observed
feature (``x = z * scale_site + shift_site``), as scanners do, so harmonisation matters. Outcomes:

* ``outcome``: binary, ``P(y=1) = sigmoid(intercept + lp)``;
* ``outcome_class``: three classes, ``lp + logistic noise`` cut at its tertiles;
* ``outcome_value``: continuous, ``lp + N(0, 1)``;
* ``time``, ``event``: exponential survival with hazard ``h0 * exp(lp)`` and uniform censoring.

The truth (``Cohort.truth``) holds the population AUC of the generating model (the AUC of ``lp`` for the binary
outcome) and its population Harrell's C, both computed on a large seeded sample from the same distribution, and the
linear predictor of each simulated case (``truth["linear_predictor"]``, indexed by case_id).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

__all__ = ["TRUE_FEATURES", "Cohort", "simulate_cohort"]

TRUE_FEATURES = ("original_glcm_joint_entropy", "original_glszm_zone_entropy")
_FAMILIES = ("firstorder", "glcm", "glrlm", "glszm", "gldzm", "ngtdm", "shape")


@dataclass
class Cohort:
    """A simulated cohort: ``features`` (case_id, patient_id, site, feature columns), ``clinical`` (case_id,
    patient_id, site, age, stage, outcome, outcome_class, outcome_value, time, event) and ``truth``."""

    features: pd.DataFrame
    clinical: pd.DataFrame
    truth: dict = field(default_factory=dict)


def _draw(rng, n, coef, intercept, h0, censor_max):
    z = rng.normal(size=(n, 2))
    lp = z @ np.asarray(coef, float)
    y = rng.random(n) < 1 / (1 + np.exp(-(intercept + lp)))
    t_event = rng.exponential(1 / (h0 * np.exp(lp)))
    t_cens = rng.uniform(0, censor_max, n)
    return z, lp, y, np.minimum(t_event, t_cens), t_event <= t_cens


@lru_cache(maxsize=32)
def _population_truth(coef, intercept, h0, censor_max) -> dict:
    """True AUC (200,000 draws) and Harrell's C (10,000 draws) of the generating model, from a fixed seed."""
    from sksurv.metrics import concordance_index_censored

    from radiomix.analysis.metrics import auc

    big = np.random.default_rng(12345)
    _, lp_b, y_b, t_b, e_b = _draw(big, 200_000, coef, intercept, h0, censor_max)
    k = 10_000
    return {"true_auc": auc(y_b, lp_b), "prevalence": float(y_b.mean()),
            "true_c_index": float(concordance_index_censored(e_b[:k], t_b[:k], lp_b[:k])[0]),
            "event_rate": float(e_b.mean())}


def simulate_cohort(n_patients: int = 200, n_features: int = 50, n_sites: int = 3, *, lesions_per_patient: int = 1,
                    coef=(1.2, -1.0), intercept: float = 0.0, site_shift: float = 0.5, h0: float = 0.1,
                    censor_max: float = 30.0, missing_rate: float = 0.0, seed: int = 0) -> Cohort:
    """Simulate a multi-site cohort whose outcomes depend on two texture features (see the module docstring).

    ``n_features`` counts all features (the two true ones included). ``lesions_per_patient`` > 1 gives several rows
    per patient that share a patient random effect (N(0, 0.5²) on the linear predictor) so they are correlated.
    ``missing_rate`` blanks that share of noise-feature values at random (to exercise imputation).
    """
    if n_features < 2:
        raise ValueError("simulate_cohort needs n_features >= 2 (two true features)")
    rng = np.random.default_rng(seed)
    n = n_patients * lesions_per_patient
    patient = np.repeat([f"P{i:04d}" for i in range(n_patients)], lesions_per_patient)
    site_of_patient = rng.integers(0, n_sites, n_patients)
    site_idx = np.repeat(site_of_patient, lesions_per_patient)
    sites = np.array([f"site{chr(65 + s)}" for s in range(n_sites)])[site_idx]
    Z = rng.normal(size=(n, n_features))
    lp = Z[:, :2] @ np.asarray(coef, float)
    if lesions_per_patient > 1:
        lp = lp + np.repeat(rng.normal(0, 0.5, n_patients), lesions_per_patient)
    y = rng.random(n) < 1 / (1 + np.exp(-(intercept + lp)))
    t_event = rng.exponential(1 / (h0 * np.exp(lp)))
    t_cens = rng.uniform(0, censor_max, n)
    noisy = lp + rng.logistic(size=n)
    cls = np.digitize(noisy, np.quantile(noisy, [1 / 3, 2 / 3]))
    shift = rng.normal(0, site_shift, (n_sites, n_features))
    scale = np.exp(rng.normal(0, 0.3 * site_shift, (n_sites, n_features)))
    X = Z * scale[site_idx] + shift[site_idx]
    names = list(TRUE_FEATURES) + [f"original_{_FAMILIES[i % len(_FAMILIES)]}_noise_{i:04d}"
                                   for i in range(n_features - 2)]
    if missing_rate > 0:
        blank = rng.random((n, n_features - 2)) < missing_rate
        X[:, 2:][blank] = np.nan
    case = [f"{p}_L{k}" for p, k in zip(patient, np.tile(np.arange(lesions_per_patient), n_patients), strict=True)]
    features = pd.DataFrame(X, columns=names)
    features.insert(0, "site", sites)
    features.insert(0, "patient_id", patient)
    features.insert(0, "case_id", case)
    clinical = pd.DataFrame({
        "case_id": case, "patient_id": patient, "site": sites,
        "age": np.round(rng.normal(62, 9, n), 1), "stage": rng.integers(1, 5, n),
        "outcome": y.astype(int), "outcome_class": np.array(["low", "mid", "high"])[cls],
        "outcome_value": lp + rng.normal(0, 1, n),
        "time": np.round(np.minimum(t_event, t_cens), 4), "event": (t_event <= t_cens).astype(int)})
    truth = {"true_features": list(TRUE_FEATURES), "coef": list(map(float, coef)), "intercept": float(intercept),
             **_population_truth(tuple(map(float, coef)), float(intercept), float(h0), float(censor_max)),
             "linear_predictor": pd.Series(lp, index=pd.Index(case, name="case_id"), name="lp")}
    return Cohort(features=features, clinical=clinical, truth=truth)
