"""Feature families. ``FAMILIES`` is the explicit, ordered registry: name -> Family."""

from __future__ import annotations

from radiomix.features import (
    glcm,
    gldzm,
    glrlm,
    glszm,
    intensity_histogram,
    ivh,
    local_intensity,
    morphology,
    ngldm,
    ngtdm,
    statistics,
)
from radiomix.features.base import Family, Feature, FeatureValue, RoiData

FAMILIES: dict[str, Family] = {
    m.FAMILY.name: m.FAMILY
    for m in (
        morphology,
        local_intensity,
        statistics,
        intensity_histogram,
        ivh,
        glcm,
        glrlm,
        glszm,
        gldzm,
        ngtdm,
        ngldm,
    )
}

__all__ = ["FAMILIES", "Family", "Feature", "FeatureValue", "RoiData"]
