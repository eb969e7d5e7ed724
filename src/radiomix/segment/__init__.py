"""radiomix.segment: make ROI masks inside the radiomics workflow.

* :mod:`.box`: box ROIs from two corners (physical mm or voxel indices) and around an existing mask.
* :mod:`.grow`: click-and-grow (seeded region growing; intensity window or confidence-connected).
* :mod:`.rings`: peritumoral rings / margins with physical distances on anisotropic grids.
* :mod:`.metrics`: Dice, Jaccard, Hausdorff / HD95, ASSD, volume difference (mm, mm^3).
* :mod:`.regions`: features of intratumoral and peritumoral regions side by side (``{region}__{column}``).
* :mod:`.deep`: a trainable MONAI U-Net, sliding-window inference, TorchScript / MONAI bundle loading (optional
  extra ``radiomix[deep]``; imported only when used, so everything above works without torch).

User-facing coordinates are (x, y, z): physical points in mm (patient LPS) or voxel indices (i, j, k).
"""

from radiomix.segment.box import box_mask, mask_box, parse_point
from radiomix.segment.grow import region_grow
from radiomix.segment.metrics import dice, jaccard, segmentation_metrics, surface_distances
from radiomix.segment.regions import extract_regions, region_masks
from radiomix.segment.rings import dilate_mm, ring_mask, ring_name

__all__ = ["box_mask", "dice", "dilate_mm", "extract_regions", "jaccard", "mask_box", "parse_point", "region_grow",
           "region_masks", "ring_mask", "ring_name", "segmentation_metrics", "surface_distances"]
