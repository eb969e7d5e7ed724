"""gldzm features (IBSI chapter 3). Placeholder: being implemented."""

from __future__ import annotations

from radiomix.features.base import Family, Feature, RoiData

FEATURES: tuple[Feature, ...] = ()


def compute(roi: RoiData):
    return []


FAMILY = Family("gldzm", "", FEATURES, compute)
