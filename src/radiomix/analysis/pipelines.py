"""Model configuration (:class:`ModelConfig`, YAML-loadable) and the pipelines and estimators it describes.

Every step that learns from data sits in one scikit-learn ``Pipeline`` so that cross-validation fits it on the
training folds only: imputation -> ComBat (site column) -> robustness (ICC) filter -> zero-variance filter -> scaling
-> optional redundancy filter -> selection -> model. Clinical variables take their own branch (imputation only) and
join the radiomics features before scaling and selection; they are never harmonised.
"""

from __future__ import annotations

from numbers import Integral
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sklearn.base import is_classifier
from sklearn.ensemble import StackingClassifier, StackingRegressor

from radiomix.errors import SettingsError

__all__ = ["CVConfig", "ExplainConfig", "GroupedStackingClassifier", "GroupedStackingRegressor", "ModelConfig",
           "PipelineConfig", "build_pipeline", "load_model_config", "model_names", "stacking_splits"]

Task = Literal["binary", "multiclass", "regression", "survival"]
FeatureSet = Literal["clinical", "radiomics", "combined"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PipelineConfig(_Strict):
    """Pre-processing steps, all fitted inside the training folds."""

    impute: Literal["median", "mean"] = "median"
    harmonise: bool = True                                   # ComBat on the site column (skipped with one site)
    combat_unseen: Literal["error", "passthrough", "estimate"] = "passthrough"  # a site absent from training
    icc_table: Path | None = None                            # CSV/Parquet with columns feature + icc_column
    icc_column: str = "icc"
    icc_threshold: float = Field(0.75, ge=-1, le=1)
    variance_filter: bool = True
    correlation_threshold: float | None = Field(None, gt=0, le=1)
    selection: Literal["kbest", "mrmr", "fdr", "lasso", "none"] = "kbest"  # survival: k-best by Harrell's C
    n_features: int = Field(10, ge=1)                        # k of k-best / mRMR
    mrmr_bins: int = Field(3, ge=2)


class CVConfig(_Strict):
    """Validation scheme: repeated (stratified, patient-grouped) k-fold nested CV, or leave-one-site-out outer loop."""

    scheme: Literal["nested", "leave_one_site_out"] = "nested"
    outer_folds: int = Field(5, ge=2)
    inner_folds: int = Field(3, ge=2)
    repeats: int = Field(1, ge=1)
    grouped: bool = True                                     # keep all rows of one patient in one fold


class ExplainConfig(_Strict):
    """Explanations of the final model."""

    permutation_repeats: int = Field(5, ge=0)
    shap: bool = True
    shap_samples: int = Field(100, ge=5)


class ModelConfig(_Strict):
    """Everything `radiomix train` needs besides the data; load it from YAML with :func:`load_model_config`."""

    task: Task = "binary"
    models: list[str] = Field(default_factory=lambda: ["logistic"])
    feature_sets: list[FeatureSet] = Field(default_factory=lambda: ["radiomics"])
    primary_feature_set: FeatureSet | None = None            # default: combined if listed, else the first
    clinical_features: list[str] = Field(default_factory=list)
    exclude_columns: list[str] = Field(default_factory=list)  # numeric non-feature columns (e.g. lesion index)
    positive_class: str | int | None = None                  # binary only (default: the larger value)
    pipeline: PipelineConfig = PipelineConfig()
    cv: CVConfig = CVConfig()
    search: dict[str, dict[str, list]] = Field(default_factory=dict)  # per-model grid overrides (param -> values)
    bootstrap: int = Field(1000, ge=0)
    seed: int = 0
    threshold: float = Field(0.5, gt=0, lt=1)
    explain: ExplainConfig = ExplainConfig()
    n_jobs: int = 1                                          # parallel inner grid search (joblib processes)
    threads: int = Field(1, ge=1)                            # BLAS/OpenMP threads per process (small data: 1)

    @field_validator("models")
    @classmethod
    def _models_known(cls, v):
        if not v:
            raise ValueError("models: give at least one model")
        return v

    @model_validator(mode="after")
    def _consistent(self):
        known = model_names(self.task)
        bad = [m for m in self.models if m not in known]
        if bad:
            raise ValueError(f"models {bad} are not available for task {self.task!r}; choose from {known}")
        if any(fs in ("clinical", "combined") for fs in self.feature_sets) and not self.clinical_features:
            raise ValueError("feature_sets 'clinical'/'combined' need clinical_features (column names)")
        if self.primary_feature_set is not None and self.primary_feature_set not in self.feature_sets:
            raise ValueError(f"primary_feature_set {self.primary_feature_set!r} is not in feature_sets")
        return self

    @property
    def primary_set(self) -> str:
        """The feature set of the final model."""
        if self.primary_feature_set:
            return self.primary_feature_set
        return "combined" if "combined" in self.feature_sets else self.feature_sets[0]


def load_model_config(config) -> ModelConfig:
    """A :class:`ModelConfig` from a ModelConfig, a dict, or a YAML file path; invalid content -> SettingsError."""
    if isinstance(config, ModelConfig):
        return config
    src = "config"
    if isinstance(config, (str, Path)):
        src = str(config)
        try:
            config = yaml.safe_load(Path(config).read_text(encoding="utf-8")) or {}
        except FileNotFoundError as e:
            raise SettingsError(f"{src}: model config file not found") from e
        except yaml.YAMLError as e:
            raise SettingsError(f"{src}: not valid YAML: {e}") from e
    if not isinstance(config, dict):
        raise SettingsError(f"{src}: a model config must be a mapping, got {type(config).__name__}")
    try:
        return ModelConfig(**config)
    except ValidationError as e:
        raise SettingsError(f"{src}: invalid model config: {e}") from e


# --------------------------------------------------------------------------------------------------------------------
# estimators


def _optional(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def model_names(task: str) -> list[str]:
    """Model names available for ``task`` (xgboost / lightgbm only when installed)."""
    if task == "survival":
        return ["coxnet", "cox", "random_survival_forest"]
    base = ["svm", "random_forest", "hist_gradient_boosting", "mlp", "voting", "stacking"]
    base = (["logistic"] if task in ("binary", "multiclass") else ["ridge", "elasticnet"]) + base
    return base + [m for m in ("xgboost", "lightgbm") if _optional(m)]


def stacking_splits(y, groups, n_splits: int, *, stratified: bool, random_state=None) -> list:
    """``(train_idx, test_idx)`` pairs for a stacking's internal CV that keep each group (patient) on one side.

    ``min(n_splits, number of groups)`` folds, stratified by ``y`` (``StratifiedGroupKFold``) when ``stratified``
    and every class occurs in at least that many groups, else plain ``GroupKFold`` (also when stratification would
    leave a test fold empty). Groups are shuffled with ``random_state`` (no shuffling when it is None), so the splits
    are deterministic given it. Fewer than two groups cannot be split and raise ``ValueError``.
    """
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    groups = np.asarray(groups)
    idx = np.arange(len(groups))
    n_groups = len(pd.unique(groups))
    if n_groups < 2:
        raise ValueError(f"the stacking's patient-grouped CV needs at least two groups (patients), got {n_groups}")
    k = min(int(n_splits), n_groups)
    kw = {"shuffle": random_state is not None, "random_state": random_state}
    y = np.asarray(y)
    if stratified and y.ndim == 1 and len(y) == len(groups):
        groups_per_class = pd.DataFrame({"y": y, "g": groups}).groupby("y")["g"].nunique()
        if groups_per_class.min() >= k:
            splits = list(StratifiedGroupKFold(k, **kw).split(idx, y, groups))
            if all(len(te) for _, te in splits):
                return splits
    return list(GroupKFold(k, **kw).split(idx, groups=groups))


class _GroupedStacking:
    """``fit(X, y, groups=None)`` for the scikit-learn stacking estimators: with ``groups`` (patient ids) the internal
    CV that makes the final estimator's training predictions keeps each patient's rows on one side of every split
    (:func:`stacking_splits`; an integer ``cv`` gives the number of folds, None 5 as in scikit-learn; a splitter object
    gets the groups). Without groups, or with ``cv="prefit"`` or an explicit list of splits, it is the plain stacking.
    ``self.cv`` is set to the splits only during ``fit`` and restored afterwards."""

    def fit(self, X, y, groups=None, **fit_params):
        cv = self.cv
        if groups is None or not (cv is None or isinstance(cv, Integral) or hasattr(cv, "split")):
            return super().fit(X, y, **fit_params)  # no groups, "prefit" or explicit splits: as scikit-learn
        if len(groups) != len(y):
            raise ValueError(f"groups has {len(groups)} entries for {len(y)} samples")
        if hasattr(cv, "split"):
            splits = list(cv.split(X, y, groups))
        else:
            splits = stacking_splits(y, groups, 5 if cv is None else cv, stratified=is_classifier(self),
                                     random_state=self.random_state)
        self.cv = splits
        try:
            return super().fit(X, y, **fit_params)
        finally:
            self.cv = cv


class GroupedStackingClassifier(_GroupedStacking, StackingClassifier):
    """:class:`~sklearn.ensemble.StackingClassifier` whose internal CV is grouped by patient when ``fit`` gets
    ``groups`` (see :class:`_GroupedStacking`); ``random_state`` shuffles the patients between its folds."""

    _parameter_constraints: ClassVar[dict] = {**StackingClassifier._parameter_constraints,
                                              "random_state": ["random_state"]}

    def __init__(self, estimators, final_estimator=None, *, cv=None, stack_method="auto", n_jobs=None,
                 passthrough=False, verbose=0, random_state=None):
        super().__init__(estimators, final_estimator, cv=cv, stack_method=stack_method, n_jobs=n_jobs,
                         passthrough=passthrough, verbose=verbose)
        self.random_state = random_state


class GroupedStackingRegressor(_GroupedStacking, StackingRegressor):
    """:class:`~sklearn.ensemble.StackingRegressor` whose internal CV is grouped by patient when ``fit`` gets
    ``groups`` (see :class:`_GroupedStacking`); ``random_state`` shuffles the patients between its folds."""

    _parameter_constraints: ClassVar[dict] = {**StackingRegressor._parameter_constraints,
                                              "random_state": ["random_state"]}

    def __init__(self, estimators, final_estimator=None, *, cv=None, n_jobs=None, passthrough=False, verbose=0,
                 random_state=None):
        super().__init__(estimators, final_estimator, cv=cv, n_jobs=n_jobs, passthrough=passthrough,
                         verbose=verbose)
        self.random_state = random_state


def make_estimator(name: str, task: str, seed: int) -> tuple[object, dict]:
    """The estimator called ``name`` for ``task`` and its default hyper-parameter grid (``model__`` prefixed later)."""
    from sklearn import ensemble, linear_model, neural_network, svm

    clf = task in ("binary", "multiclass")
    if task == "survival":
        if name == "coxnet":
            from sksurv.linear_model import CoxnetSurvivalAnalysis

            return (CoxnetSurvivalAnalysis(l1_ratio=0.5, alphas=[0.05], fit_baseline_model=True, max_iter=100000),
                    {"alphas": [[0.02], [0.05], [0.15]]})
        if name == "cox":
            from sksurv.linear_model import CoxPHSurvivalAnalysis

            return CoxPHSurvivalAnalysis(alpha=1.0), {"alpha": [0.1, 1.0, 10.0]}
        if name == "random_survival_forest":
            from sksurv.ensemble import RandomSurvivalForest

            return (RandomSurvivalForest(n_estimators=100, min_samples_leaf=5, random_state=seed, n_jobs=1),
                    {"min_samples_leaf": [5, 15]})
    if name == "logistic" and clf:
        return linear_model.LogisticRegression(max_iter=5000), {"C": [0.01, 0.1, 1.0]}
    if name == "ridge" and not clf:
        return linear_model.Ridge(), {"alpha": [0.1, 1.0, 10.0]}
    if name == "elasticnet" and not clf:
        return linear_model.ElasticNet(l1_ratio=0.5, max_iter=20000), {"alpha": [0.01, 0.1, 1.0]}
    if name == "svm":
        return ((svm.SVC(probability=True, random_state=seed), {"C": [0.1, 1.0, 10.0]}) if clf
                else (svm.SVR(), {"C": [0.1, 1.0, 10.0]}))
    if name == "random_forest":
        cls = ensemble.RandomForestClassifier if clf else ensemble.RandomForestRegressor
        return cls(n_estimators=200, min_samples_leaf=3, random_state=seed, n_jobs=1), {"max_features": ["sqrt", 0.5]}
    if name == "hist_gradient_boosting":
        cls = ensemble.HistGradientBoostingClassifier if clf else ensemble.HistGradientBoostingRegressor
        return (cls(max_iter=100, max_depth=3, early_stopping=False, random_state=seed),
                {"learning_rate": [0.03, 0.1]})
    if name == "mlp":
        cls = neural_network.MLPClassifier if clf else neural_network.MLPRegressor
        return cls(hidden_layer_sizes=(16,), max_iter=2000, random_state=seed), {"alpha": [0.01, 1.0]}
    if name in ("voting", "stacking"):
        members = [(m, make_estimator(m, task, seed)[0])
                   for m in (["logistic"] if clf else ["ridge"]) + ["random_forest", "hist_gradient_boosting"]]
        if name == "voting":
            return (ensemble.VotingClassifier(members, voting="soft") if clf else ensemble.VotingRegressor(members)), {}
        final = linear_model.LogisticRegression(max_iter=5000) if clf else linear_model.Ridge()
        # internal CV grouped by patient when the pipeline's fit gets model__groups (validation.fit_searched)
        cls = GroupedStackingClassifier if clf else GroupedStackingRegressor
        return cls(members, final_estimator=final, cv=3, random_state=seed), {}
    if name == "xgboost" and _optional("xgboost"):
        import xgboost

        cls = xgboost.XGBClassifier if clf else xgboost.XGBRegressor
        return cls(n_estimators=200, max_depth=3, random_state=seed, n_jobs=1), {"learning_rate": [0.03, 0.1]}
    if name == "lightgbm" and _optional("lightgbm"):
        import lightgbm

        cls = lightgbm.LGBMClassifier if clf else lightgbm.LGBMRegressor
        return (cls(n_estimators=200, max_depth=3, random_state=seed, n_jobs=1, verbose=-1),
                {"learning_rate": [0.03, 0.1]})
    raise SettingsError(f"model {name!r} is not available for task {task!r}; choose from {model_names(task)}")


def read_icc_table(path: Path, column: str) -> pd.Series:
    """ICC values (feature -> ICC) from a CSV or Parquet table with columns ``feature`` and ``column``."""
    from radiomix.errors import InputError

    try:
        df = pd.read_parquet(path) if Path(path).suffix.lower() == ".parquet" else pd.read_csv(path)
    except FileNotFoundError as e:
        raise InputError(f"{path}: ICC table not found") from e
    if "feature" not in df.columns or column not in df.columns:
        raise InputError(f"{path}: ICC table needs columns 'feature' and {column!r}, has {list(df.columns)[:8]}")
    return pd.Series(df[column].to_numpy(dtype=float), index=df["feature"].astype(str))


def build_pipeline(cfg: ModelConfig, model: str, radiomics: list[str], clinical: list[str], site: str | None,
                   icc: pd.Series | None = None):
    """(pipeline, param_grid) for one model over the given radiomics and clinical columns (``site`` given when
    ComBat is to be fitted). The pipeline reads a DataFrame and outputs pandas at every step."""
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_selection import VarianceThreshold
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from radiomix.analysis.harmonise import ComBat
    from radiomix.analysis.robustness import ICCSelector
    from radiomix.analysis.select import MRMR, CorrelationClusters, SparseSelector, UnivariateFDR
    from radiomix.analysis.survival import SurvivalKBest

    p = cfg.pipeline
    branches = []
    if radiomics:
        imp = SimpleImputer(strategy=p.impute, keep_empty_features=True)
        if site is not None:
            steps = [("impute", ColumnTransformer([("num", imp, radiomics)], remainder="passthrough",
                                                  verbose_feature_names_out=False)),
                     ("combat", ComBat(batch=site, unseen=p.combat_unseen))]
            cols = radiomics + [site]
        else:
            steps, cols = [("impute", imp)], radiomics
        if icc is not None:
            steps.append(("icc", ICCSelector(threshold=p.icc_threshold, icc=icc, missing="keep")))
        branches.append(("radiomics", Pipeline(steps), cols))
    if clinical:
        branches.append(("clinical", SimpleImputer(strategy=p.impute, keep_empty_features=True), clinical))
    steps = [("prepare", ColumnTransformer(branches, remainder="drop", verbose_feature_names_out=False))]
    if p.variance_filter:
        steps.append(("variance", VarianceThreshold(0.0)))
    steps.append(("scale", StandardScaler()))
    if radiomics and p.correlation_threshold is not None:
        steps.append(("decorrelate", CorrelationClusters(threshold=p.correlation_threshold)))
    if radiomics and p.selection != "none":
        if cfg.task == "survival":
            steps.append(("select", SurvivalKBest(k=p.n_features)))
        elif p.selection == "kbest":
            from sklearn.feature_selection import SelectKBest, f_classif, f_regression

            # ANOVA F (classification) or univariate linear F (regression); keeps all if fewer than k reach it
            steps.append(("select", SelectKBest(f_regression if cfg.task == "regression" else f_classif,
                                                k=p.n_features)))
        elif p.selection == "mrmr":
            steps.append(("select", MRMR(n_features=p.n_features, n_bins=p.mrmr_bins,
                                         task="regression" if cfg.task == "regression" else "classification")))
        elif p.selection == "fdr":
            steps.append(("select", UnivariateFDR(alpha=0.05)))
        else:
            steps.append(("select", SparseSelector(random_state=cfg.seed)))
    est, grid = make_estimator(model, cfg.task, cfg.seed)
    grid = cfg.search.get(model, grid)
    steps.append(("model", est))
    pipe = Pipeline(steps)
    pipe.set_output(transform="pandas")
    if hasattr(est, "set_output"):  # the stacking's own transform feeds its final estimator, fitted on arrays
        est.set_output(transform="default")
    return pipe, {f"model__{k}": list(v) for k, v in grid.items()}


def selected_features(pipeline) -> list[str]:
    """Names of the columns that reach the model step of a fitted pipeline."""
    return [str(c) for c in np.asarray(pipeline[:-1].get_feature_names_out())]
