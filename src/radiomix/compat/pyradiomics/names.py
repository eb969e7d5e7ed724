"""Feature and image-type names between radiomix style (``original_glcm_contrast``) and PyRadiomics style
(``original_glcm_Contrast``, ``wavelet-LLH_firstorder_Mean``, ``log-sigma-1-0-mm-3D_glcm_Idmn``).

The feature names come from the mapping table ``mapping.csv`` beside this module (one row per PyRadiomics feature
with its radiomix family and feature name); image-type names follow one rule each way (see
:func:`image_type_to_radiomix`).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

MAPPING_CSV = Path(__file__).with_name("mapping.csv")


def _snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return s.lower()


@lru_cache(maxsize=1)
def _table() -> tuple[dict[tuple[str, str], tuple[str, str]], dict[tuple[str, str], tuple[str, str]]]:
    """(pyradiomics class, feature) -> (radiomix family, feature), and the reverse."""
    fwd: dict[tuple[str, str], tuple[str, str]] = {}
    if MAPPING_CSV.exists():
        with MAPPING_CSV.open(newline="") as fh:
            for row in csv.DictReader(fh):
                cls = row.get("pyradiomics_class") or row.get("class")
                feat = row.get("pyradiomics_feature") or row.get("pyradiomics_name") or row.get("feature")
                fam = row.get("radiomix_family") or row.get("family") or cls
                rfeat = row.get("radiomix_feature") or row.get("radiomix_name")
                if cls and feat:
                    fwd[(cls, feat)] = (fam or cls.lower(), rfeat or _snake(feat))
    rev = {v: k for k, v in fwd.items()}
    return fwd, rev


def feature_to_radiomix(cls: str, feature: str) -> tuple[str, str]:
    """(radiomix family, radiomix feature) of a PyRadiomics class and feature, from the mapping table (a feature the
    table lacks keeps its class as family and its name in snake_case)."""
    fwd, _ = _table()
    return fwd.get((cls, feature), (cls.lower(), _snake(feature)))


def feature_to_pyradiomics(family: str, feature: str) -> tuple[str, str]:
    """(PyRadiomics class, feature) of a radiomix family and feature name."""
    _, rev = _table()
    if (family, feature) in rev:
        return rev[(family, feature)]
    cls = "shape2D" if family == "shape2d" else family
    return cls, "".join(part[:1].upper() + part[1:] for part in feature.split("_"))


def image_type_to_radiomix(name: str) -> str:
    """``wavelet-LLH`` -> ``wavelet_llh``, ``log-sigma-1-0-mm-3D`` -> ``log_sigma_1_0_mm_3d``, ``lbp-2D`` -> ``lbp_2d``."""
    return name.replace("-", "_").lower()


def image_type_to_pyradiomics(name: str) -> str:
    """The inverse of :func:`image_type_to_radiomix`."""
    m = re.fullmatch(r"wavelet(\d*)_([lh]+)", name)
    if m:
        return f"wavelet{m.group(1)}-{m.group(2).upper()}"
    m = re.fullmatch(r"log_sigma_(.+)_mm_(\d)d", name)
    if m:
        return f"log-sigma-{m.group(1).replace('_', '-')}-mm-{m.group(2)}D"
    m = re.fullmatch(r"lbp_(\d)d(.*)", name)
    if m:
        return f"lbp-{m.group(1)}D{m.group(2).replace('_', '-')}"
    return name


def column_to_pyradiomics(column: str, families=None) -> str:
    """``original_glcm_contrast`` -> ``original_glcm_Contrast``; ``wavelet_llh_firstorder_mean`` ->
    ``wavelet-LLH_firstorder_Mean``."""
    _, rev = _table()
    fams = sorted({f for f, _ in rev} | set(families or ()) |
                  {"firstorder", "shape", "shape2d", "glcm", "glrlm", "glszm", "gldm", "ngtdm"}, key=len, reverse=True)
    for fam in fams:
        m = re.fullmatch(rf"(.+?)_{re.escape(fam)}_(.+)", column)
        if m:
            cls, feat = feature_to_pyradiomics(fam, m.group(2))
            return f"{image_type_to_pyradiomics(m.group(1))}_{cls}_{feat}"
    raise KeyError(f"{column!r} is not a PyRadiomics-mode feature column (image type, class, feature)")


def to_pyradiomics_names(features) -> dict[str, float]:
    """PyRadiomics-style columns of a PyRadiomics-mode FeatureSet (or a ``{radiomix column: value}`` mapping),
    in the same order: ``original_glcm_Contrast``, ``wavelet-LLH_firstorder_Mean``, ``log-sigma-1-0-mm-3D_glcm_Idmn``."""
    if isinstance(features, Mapping):
        return {column_to_pyradiomics(k): v for k, v in features.items()}
    out = {}
    for v in features.values:
        cls, feat = feature_to_pyradiomics(v.family, v.feature)
        out[f"{image_type_to_pyradiomics(v.image_type)}_{cls}_{feat}"] = v.value
    return out


def rename_table(df, families=None):
    """A copy of a feature table with every PyRadiomics-mode feature column renamed PyRadiomics-style; other columns
    (case_id, manifest columns, lesion columns) are kept as they are."""
    mapping = {}
    for c in df.columns:
        try:
            mapping[c] = column_to_pyradiomics(str(c), families)
        except KeyError:
            continue
    return df.rename(columns=mapping)


def mapping_table_markdown() -> str:
    """The mapping table (``mapping.csv``) as a Markdown table, for ``docs/moving-from-pyradiomics.md``."""
    if not MAPPING_CSV.exists():
        return "_mapping.csv is not available in this build._\n"
    with MAPPING_CSV.open(newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in body]
    return "\n".join(lines) + "\n"
