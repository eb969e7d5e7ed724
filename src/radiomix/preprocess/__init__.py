"""IBSI chapter 2 image processing: resampling, re-segmentation, discretisation.

``prepare(image, mask, settings)`` -> :class:`PreparedCase` (cropped, resampled, rounded image with its morphological
and intensity masks and the IBSI diagnostics); ``roi_data(prepared, settings)`` -> :class:`RoiData` (discretised).
"""

from radiomix.preprocess.pipeline import PreparedCase, prepare, roi_data

__all__ = ["PreparedCase", "prepare", "roi_data"]
