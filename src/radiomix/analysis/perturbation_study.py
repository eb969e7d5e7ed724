"""Perturbation robustness studies (Zwanenburg et al. 2019) for one image or a cohort: :func:`robustness_table`.

Every case is perturbed ``n`` times (random combinations of rotation, sub-voxel translation, noise addition, volume
growth/shrinkage and supervoxel contour randomisation, :func:`radiomix.analysis.perturb.perturbations`) and its
features extracted from every perturbation. The perturbations of a case are exchangeable "raters": per feature,
ICC(1,1) with its confidence interval is computed over the perturbations pooled across cases, and the features are
ranked from the most to the least robust (rank 1 = highest ICC).

The ICC compares between-case with within-case (perturbation) variance, so it needs at least two cases: a cohort, or
one image whose mask holds several labels (each label a case). With a single case the ICC columns are NaN and the
rank follows the within-case coefficient of variation (``wcv``, lowest first) instead; ``rank_by`` says which.

Cases are read and perturbed one at a time, so memory holds one case's perturbations, never the cohort.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from radiomix.analysis.perturb import KINDS, perturbations
from radiomix.errors import InputError
from radiomix.image import Image, Mask

#: columns of :func:`robustness_table` (``docs/run-layout.md``: ``robustness.parquet``)
COLUMNS = ["feature", "icc", "icc_low", "icc_high", "wcv", "n_cases", "n_perturbations", "rank", "rank_by"]


def _extract_dict(extractor, image, mask, settings) -> dict[str, float]:
    fs = extractor(image, mask, settings)
    return fs.to_dict() if hasattr(fs, "to_dict") else dict(fs)


def perturbation_values(cases: Iterable, settings, n: int = 20, seed=0, kinds: Sequence[str] = KINDS,
                        extractor: Callable | None = None) -> pd.DataFrame:
    """Long table ``case, perturbation, <feature columns>`` of the features of ``n`` perturbations of every case.

    ``cases`` yields ``(case_id, image, mask)`` triples or ``(case_id, loader)`` pairs where ``loader()`` returns
    ``(image, mask)`` (read lazily, one case at a time). Perturbation ``j`` of case ``c`` is reproducible from
    ``(seed, c)``."""
    if extractor is None:
        from radiomix.extract import extract as extractor
    if n < 2:
        raise InputError(f"n must be >= 2 perturbations per case, got {n}")
    rows = []
    for c, item in enumerate(cases):
        if len(item) == 2:
            case_id, loader = item
            image, mask = loader()
        else:
            case_id, image, mask = item
        for j, (pim, pm, _) in enumerate(perturbations(image, mask, n, seed=(seed, c), kinds=kinds)):
            rows.append({"case": str(case_id), "perturbation": j, **_extract_dict(extractor, pim, pm, settings)})
            del pim, pm
    if not rows:
        raise InputError("no cases to perturb")
    return pd.DataFrame(rows)


def rms_cv(values: pd.DataFrame, case: str, feats) -> np.ndarray:
    """Root-mean-square over cases of the within-case CV, SD (ddof=1) / |mean| (Glueer et al. 1995); NaN where a
    case mean is 0. Works for a single case too."""
    g = values.groupby(case)[list(feats)]
    var, mean = g.var(ddof=1), g.mean()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(mean.to_numpy() != 0, var.to_numpy() / mean.to_numpy() ** 2, np.nan)
    return np.sqrt(np.mean(ratio, axis=0))


def summarise(values: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Per-feature ICC(1,1) with CI, within-case CV and rank from a :func:`perturbation_values` table."""
    from radiomix.analysis.robustness import finite_features, icc

    feats = [c for c in values.columns if c not in ("case", "perturbation")]
    if not feats:
        raise InputError("the extractor returned no features (are the families in the settings implemented?)")
    feats = finite_features(values, feats, under="some perturbation")
    n_cases = values["case"].nunique()
    k = int(values.groupby("case").size().min())
    out = pd.DataFrame({"feature": feats, "wcv": rms_cv(values, "case", feats)})
    if n_cases >= 2:
        res = icc(values, "case", "perturbation", feats, alpha=alpha)
        out["icc"] = res["icc1"].reindex(feats).to_numpy()
        out["icc_low"] = res["icc1_low"].reindex(feats).to_numpy()
        out["icc_high"] = res["icc1_high"].reindex(feats).to_numpy()
        out = out.sort_values(["icc", "wcv"], ascending=[False, True], na_position="last", kind="stable")
        rank_by = "icc"
    else:
        out["icc"] = out["icc_low"] = out["icc_high"] = np.nan
        out = out.sort_values("wcv", ascending=True, na_position="last", kind="stable")
        rank_by = "wcv"
    out["n_cases"], out["n_perturbations"] = n_cases, k
    out["rank"] = np.arange(1, len(out) + 1)
    out["rank_by"] = rank_by
    return out[COLUMNS].reset_index(drop=True)


def robustness_table(image, mask, settings, n: int = 20, seed=0, kinds: Sequence[str] = KINDS, *,
                     alpha: float = 0.05, extractor: Callable | None = None) -> pd.DataFrame:
    """Rank features by their robustness to image perturbations.

    ``image``/``mask``: one pair, or equal-length sequences (a cohort; one mask may serve several images). Returns
    one row per feature (:data:`COLUMNS`): ``icc`` (ICC(1,1) over the perturbations pooled across cases) with
    ``icc_low``/``icc_high`` (``1 - alpha`` CI), ``wcv`` (root-mean-square within-case CV), ``rank`` (1 = most
    robust) and ``rank_by`` (``icc``, or ``wcv`` for a single case, where no ICC exists)."""
    images = [image] if isinstance(image, Image) else list(image)
    masks = [mask] * len(images) if isinstance(mask, Mask) else list(mask)
    if len(images) != len(masks):
        raise InputError(f"{len(images)} images but {len(masks)} masks")
    cases = [(i, im, m) for i, (im, m) in enumerate(zip(images, masks))]
    return summarise(perturbation_values(cases, settings, n, seed, kinds, extractor), alpha)


def mask_label_cases(image: Image, mask_path, case_prefix: str = "") -> list:
    """One case per non-zero label of a label-map file (lesions of one image): ``(case_id, image, mask)``."""
    from radiomix.io import read_mask

    union = read_mask(mask_path, image=image)
    labels = [None]
    try:
        import SimpleITK as sitk

        arr = sitk.GetArrayFromImage(sitk.ReadImage(str(mask_path)))
        found = [int(v) for v in np.unique(arr) if v != 0]
        if len(found) > 1:
            labels = found
    except RuntimeError:  # DICOM masks and other formats: the union is one case
        pass
    if labels == [None]:
        return [(f"{case_prefix}roi", image, union)]
    return [(f"{case_prefix}label{lab}", image, read_mask(mask_path, label=lab, image=image)) for lab in labels]


def manifest_cases(manifest) -> list:
    """Lazy cases of a batch manifest (``case_id, image, mask[, label, roi]``): ``(case_id, loader)`` pairs."""
    from radiomix.batch.manifest import load_manifest
    from radiomix.io import read_image, read_mask

    df = load_manifest(manifest)
    out = []
    for rec in df.to_dict("records"):
        label = rec.get("label")
        label = None if label is None or pd.isna(label) else int(label)
        roi = rec.get("roi") if isinstance(rec.get("roi"), str) else None

        def load(rec=rec, label=label, roi=roi):
            img = read_image(rec["image"])
            return img, read_mask(rec["mask"], label=label, image=img, roi=roi)

        out.append((rec["row_id"] if "lesion" in rec or "timepoint" in rec else rec["case_id"], load))
    return out


def timed_robustness(cases, settings, n: int = 20, seed=0, kinds: Sequence[str] = KINDS,
                     alpha: float = 0.05) -> tuple[pd.DataFrame, float]:
    """:func:`summarise` of :func:`perturbation_values` over ``cases``, and the seconds it took."""
    t0 = time.perf_counter()
    res = summarise(perturbation_values(cases, settings, n, seed, kinds), alpha)
    return res, time.perf_counter() - t0
