"""Small published data sets that ship with radiomix (the IBSI digital phantom, CC BY 4.0)."""

from __future__ import annotations

import numpy as np

from radiomix.image import Geometry, Image, Mask

# IBSI 1 digital phantom (Zwanenburg et al., IBSI reference manual; CC BY 4.0): 5 x 4 x 4 voxels of 2 mm, (z, y, x).
_DIG_IMAGE = [
    [[1, 4, 4, 1, 1], [1, 4, 6, 1, 1], [4, 1, 6, 4, 1], [4, 4, 6, 4, 1]],
    [[1, 4, 4, 1, 1], [1, 1, 6, 1, 1], [1, 1, 3, 1, 1], [4, 4, 6, 1, 1]],
    [[1, 4, 4, 1, 1], [1, 1, 1, 1, 1], [1, 1, 9, 1, 1], [1, 1, 6, 1, 1]],
    [[1, 4, 4, 1, 1], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [1, 1, 6, 1, 1]],
]
_DIG_MASK = [
    [[1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1]],
    [[1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [0, 1, 1, 1, 1], [1, 1, 1, 1, 1]],
    [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 1, 0, 1, 1], [1, 1, 1, 1, 1]],
    [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1]],
]


def digital_phantom() -> tuple[Image, Mask]:
    """The IBSI 1 digital phantom (74 ROI voxels, grey levels 1, 3, 4, 6) as an Image and Mask."""
    geom = Geometry((4, 4, 5), (2.0, 2.0, 2.0))
    image = Image(np.array(_DIG_IMAGE, dtype=np.float64), geom, "ibsi-digital-phantom")
    mask = Mask.from_labels(np.array(_DIG_MASK), geom, 1, "ibsi-digital-phantom-mask")
    return image, mask
