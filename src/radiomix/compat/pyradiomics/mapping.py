"""The checked-in PyRadiomics <-> radiomix feature table (``mapping.csv`` beside this module).

Columns: ``pyradiomics_class, pyradiomics_name, radiomix_family, radiomix_feature, ibsi_id, note``. One row per
PyRadiomics feature (radiomix cells empty where radiomix has no equivalent) and one row for every radiomix feature
without a PyRadiomics equivalent (PyRadiomics cells empty). ``note`` says where the definitions differ.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

MAPPING_CSV = Path(__file__).with_name("mapping.csv")
COLUMNS = ("pyradiomics_class", "pyradiomics_name", "radiomix_family", "radiomix_feature", "ibsi_id", "note")


@dataclass(frozen=True)
class MappingRow:
    """One row of ``mapping.csv``; empty strings where a side has no feature."""

    pyradiomics_class: str
    pyradiomics_name: str
    radiomix_family: str
    radiomix_feature: str
    ibsi_id: str
    note: str


@lru_cache(maxsize=1)
def load_mapping() -> tuple[MappingRow, ...]:
    """All rows of the mapping table, in file order."""
    with MAPPING_CSV.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(f"{MAPPING_CSV}: columns {reader.fieldnames} differ from {COLUMNS}")
        return tuple(MappingRow(**{k: (r[k] or "").strip() for k in COLUMNS}) for r in reader)


def radiomix_equivalent(cls: str, name: str) -> MappingRow | None:
    """The mapping row of PyRadiomics feature ``cls``/``name`` (None if PyRadiomics has no such feature)."""
    for row in load_mapping():
        if row.pyradiomics_class == cls and row.pyradiomics_name == name:
            return row
    return None
