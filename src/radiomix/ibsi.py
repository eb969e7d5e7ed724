"""IBSI 1 compliance: compute every reference row we can and compare it with the IBSI rule.

Comparison rule (shared/reference/ibsi/README.md): round the computed value to 3 significant digits, then
``|value - reference| <= tolerance``. Rows are matched to our outputs by (IBSI feature id, IBSI aggregation id);
IVH sub-features and diagnostics, which share or lack ids, are matched by the compliance sheet's tag.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from radiomix.data import digital_phantom
from radiomix.extract import FeatureSet, extract
from radiomix.io import read_image, read_mask
from radiomix.reference import reference_dir
from radiomix.settings import preset

CONFIGS = ("dig", "A", "B", "C", "D", "E")
PRESET_OF = {"dig": "ibsi_dig", **{c: f"ibsi_config_{c.lower()}" for c in "ABCDE"}}

#: IVH rows share IBSI ids; match them by sheet tag to our feature names.
IVH_SHEET_TAGS = {
    "ivh_v10": "volume_at_intensity_fraction_10",
    "ivh_v90": "volume_at_intensity_fraction_90",
    "ivh_i10": "intensity_at_volume_fraction_10",
    "ivh_i90": "intensity_at_volume_fraction_90",
    "ivh_diff_v10_v90": "volume_fraction_difference_10_90",
    "ivh_diff_i10_i90": "intensity_difference_10_90",
    "ivh_auc": "area_under_ivh_curve",
}


@dataclass(frozen=True)
class ReferenceRow:
    configuration: str
    family: str
    feature: str
    ibsi_tag: str
    aggregation_tag: str
    sheet_tag: str
    value: float
    tolerance: float
    in_reference_manual: bool

    @property
    def id(self) -> str:
        return f"{self.configuration}-{self.sheet_tag}"

    @property
    def is_diagnostic(self) -> bool:
        return self.family.startswith("Diagnostics")


def round_sig(x: float, digits: int = 3) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def matches(value: float, reference: float, tolerance: float) -> bool:
    """IBSI rule: round to 3 significant digits, then |value - reference| <= tolerance (plus float round-off).

    Reference values given with more than 3 significant digits (image sizes, voxel counts such as 125256, maximum
    intensity 3065) are compared unrounded as well, so an exact value always matches.
    """
    if value is None or not math.isfinite(value):
        return False
    slack = 1e-9 * max(1.0, abs(reference))
    return (abs(value - reference) - tolerance <= slack
            or abs(round_sig(value) - reference) - tolerance <= slack)


def _read_rows(path) -> list[ReferenceRow]:
    out = []
    with open(path, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["value"] in ("", None):
                continue
            out.append(ReferenceRow(r["configuration"], r["family"], r["feature"], r["ibsi_tag"], r["aggregation_tag"],
                                    r["sheet_tag"], float(r["value"]), float(r["tolerance"] or 0),
                                    r.get("in_reference_manual", "yes") == "yes"))
    return out


def reference_rows(configs=CONFIGS, reference: Path | None = None) -> list[ReferenceRow]:
    """Reference rows for the configurations. The digital phantom rows ship with radiomix; A-E need the shared data."""
    rows: list[ReferenceRow] = []
    if "dig" in configs:
        rows += _read_rows(resources.files("radiomix.data") / "ibsi_dig_reference.csv")
    ct = [c for c in configs if c != "dig"]
    if ct:
        ref = reference or reference_dir(required=True)
        rows += [r for r in _read_rows(Path(ref) / "ibsi" / "ibsi1" / "reference_values.csv")
                 if r.configuration in ct]
    return rows


def load_case(config: str, reference: Path | None = None):
    if config == "dig":
        return digital_phantom()
    ref = Path(reference or reference_dir(required=True)) / "ibsi" / "ibsi1" / "ct_phantom" / "nifti"
    return read_image(ref / "image.nii.gz"), read_mask(ref / "mask.nii.gz")


@lru_cache(maxsize=8)
def compute_config(config: str, reference: str | None = None) -> FeatureSet:
    """Extract every family with the configuration's preset (cached per process)."""
    image, mask = load_case(config, Path(reference) if reference else None)
    return extract(image, mask, preset(PRESET_OF[config]), diagnostics="full")


def lookup(fs: FeatureSet, row: ReferenceRow) -> float | None:
    """Our value for a reference row, or None when we do not compute it."""
    if row.is_diagnostic:
        return fs.diagnostics.get(row.sheet_tag)
    if row.sheet_tag in IVH_SHEET_TAGS:
        name = IVH_SHEET_TAGS[row.sheet_tag]
        for v in fs.values:
            if v.family == "ivh" and v.feature == name and v.image_type == "original":
                return v.value
        return None
    for v in fs.values:
        if v.image_type == "original" and v.ibsi_feature == row.ibsi_tag and v.ibsi_aggregation == row.aggregation_tag:
            return v.value
    return None


@dataclass(frozen=True)
class RowResult:
    row: ReferenceRow
    value: float | None

    @property
    def passed(self) -> bool:
        return self.value is not None and matches(self.value, self.row.value, self.row.tolerance)


def run(configs=CONFIGS, reference: Path | None = None) -> list[RowResult]:
    rows = reference_rows(configs, reference)
    results = []
    for config in configs:
        fs = compute_config(config, str(reference) if reference else None)
        results += [RowResult(r, lookup(fs, r)) for r in rows if r.configuration == config]
    return results


# --- IBSI 2 phase 2: statistics of filtered CT phantom images ----------------------------------------------------------
@dataclass(frozen=True)
class Phase2Row:
    filter_id: str  # e.g. "3.A"
    filter_number: int
    configuration: str  # "A" or "B"
    feature_tag: str
    ibsi_tag: str
    value: float
    tolerance: float

    @property
    def id(self) -> str:
        return f"{self.filter_id}-{self.feature_tag}"

    @property
    def preset(self) -> str:
        return f"ibsi2_{self.filter_number}_{self.configuration.lower()}"


def phase2_rows(reference: Path | None = None) -> list[Phase2Row]:
    ref = Path(reference or reference_dir(required=True)) / "ibsi" / "ibsi2" / "phase2" / "reference_values.csv"
    with open(ref, newline="", encoding="utf-8") as f:
        return [Phase2Row(r["filter_id"], int(r["filter_number"]), r["configuration"], r["feature_tag"], r["ibsi_tag"],
                          float(r["value"]), float(r["tolerance"])) for r in csv.DictReader(f) if r["value"]]


@lru_cache(maxsize=32)
def compute_phase2(preset_name: str, reference: str | None = None) -> FeatureSet:
    image, mask = load_case("A", Path(reference) if reference else None)
    return extract(image, mask, preset(preset_name))


def lookup_phase2(fs: FeatureSet, row: Phase2Row) -> float | None:
    """The statistics feature of the filtered image (the unfiltered one for filter 1)."""
    filtered = {v.image_type for v in fs.values} - {"original"}
    image_type = next(iter(filtered)) if filtered else "original"
    for v in fs.values:
        if v.image_type == image_type and v.family == "statistics" and v.ibsi_feature == row.ibsi_tag:
            return v.value
    return None


def run_phase2(reference: Path | None = None) -> list[tuple[Phase2Row, float | None, bool]]:
    out = []
    for row in phase2_rows(reference):
        value = lookup_phase2(compute_phase2(row.preset, str(reference) if reference else None), row)
        out.append((row, value, value is not None and matches(value, row.value, row.tolerance)))
    return out
