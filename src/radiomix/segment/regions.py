"""Features of the intratumoral region and peritumoral rings side by side, in one wide row.

Column naming: ``{region}__{column}``, two underscores between the region and the usual feature column
``{image_type}_{family}_{feature}[_{aggregation}]``. Regions are named

* ``intratumoral``: the mask itself;
* ``peritumoral_5mm``: the outer shell of 5 mm around the mask (see :mod:`radiomix.segment.rings`);
* ``peritumoral_in2mm_out5mm``: 2 mm inside plus 5 mm outside the boundary;
* decimals use ``p``: ``peritumoral_2p5mm``.

For example ``intratumoral__original_statistics_mean`` and ``peritumoral_5mm__original_statistics_mean``. Every
region goes through :func:`radiomix.extract.extract` with the same settings.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from radiomix.image import Image, Mask, check_same_grid
from radiomix.segment.rings import ring_mask, ring_name


def _rings(rings) -> list[tuple[float, float]]:
    out = []
    for r in rings:
        if isinstance(r, (int, float)):
            out.append((float(r), 0.0))
        else:
            outer, inner = r
            out.append((float(outer), float(inner)))
    return out


def region_masks(mask: Mask, rings: Sequence[float | tuple[float, float]] = (5.0,), *, within: Mask | None = None,
                 intratumoral: bool = True) -> dict[str, Mask]:
    """The named region masks: ``intratumoral`` (optional) and one ring per entry of ``rings`` (an outer thickness
    in mm, or a pair (outer_mm, inner_mm)), cut by ``within`` when given."""
    out: dict[str, Mask] = {}
    if intratumoral:
        out["intratumoral"] = mask
    for outer, inner in _rings(rings):
        out[ring_name(outer, inner)] = ring_mask(mask, outer, inner, within=within)
    return out


def extract_regions(image: Image, mask: Mask, settings, rings: Sequence[float | tuple[float, float]] = (5.0,), *,
                    within: Mask | None = None, intratumoral: bool = True,
                    on_family_error: str = "raise") -> pd.Series:
    """Extract features of every region (see :func:`region_masks`) and return one wide row whose columns are
    ``{region}__{feature column}``."""
    from radiomix.extract import extract

    check_same_grid(image, mask)
    parts = {}
    for name, m in region_masks(mask, rings, within=within, intratumoral=intratumoral).items():
        fs = extract(image, m, settings, on_family_error=on_family_error)
        parts[name] = fs.to_wide().add_prefix(f"{name}__")
    return pd.concat(list(parts.values()))
