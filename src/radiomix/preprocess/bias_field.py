"""N4 bias-field correction (Tustison et al. 2010) through SimpleITK's ``N4BiasFieldCorrectionImageFilter``.

The bias field is fitted on a shrunken copy of the image (``shrink_factor``) over a mask (the ROI, an Otsu
foreground, or every voxel), then evaluated at full resolution; the corrected image is ``image / exp(log bias)``.
N4 works on positive intensities: voxels <= 0 are left out of the fit.
"""

from __future__ import annotations

import numpy as np

from radiomix.errors import InputError
from radiomix.image import Image, Mask, check_same_grid


def n4_correct(image: Image, mask: Mask | None = None, *, shrink_factor: int = 4, iterations=(50, 50, 50, 50),
               otsu: bool = True, convergence: float = 1e-6, return_field: bool = False):
    """N4-corrected copy of ``image`` (float64). ``mask`` (same grid) limits the fit to the ROI; without it an Otsu
    foreground (``otsu=True``) or every positive voxel is used. ``iterations``: per fitting level (its length is the
    number of levels). With ``return_field=True`` returns ``(corrected, bias_field)``."""
    import SimpleITK as sitk

    from radiomix.io.itk import geometry_to_sitk

    if shrink_factor < 1:
        raise InputError(f"N4 shrink_factor must be >= 1, got {shrink_factor}")
    iterations = [int(i) for i in iterations]
    if not iterations or min(iterations) < 1:
        raise InputError(f"N4 iterations must be positive integers, got {iterations}")
    a = np.asarray(image.array, dtype=np.float32)
    if mask is not None:
        check_same_grid(image, mask)
        fit = mask.array.copy()
    elif otsu:
        fit = sitk.GetArrayFromImage(sitk.OtsuThreshold(geometry_to_sitk(a, image.geometry), 0, 1, 200)).astype(bool)
    else:
        fit = np.ones(a.shape, bool)
    fit &= a > 0
    if fit.sum() < 10:
        raise InputError(f"{image.source}: N4 needs positive intensities in its mask; only {int(fit.sum())} voxels")
    full = geometry_to_sitk(a, image.geometry)
    fmask = geometry_to_sitk(fit.astype(np.uint8), image.geometry)
    shrink = [shrink_factor if n > 1 else 1 for n in full.GetSize()]
    small, small_mask = sitk.Shrink(full, shrink), sitk.Shrink(fmask, shrink)
    n4 = sitk.N4BiasFieldCorrectionImageFilter()
    n4.SetMaximumNumberOfIterations(iterations)
    n4.SetConvergenceThreshold(convergence)
    n4.Execute(small, small_mask)
    log_field = sitk.GetArrayFromImage(n4.GetLogBiasFieldAsImage(full)).astype(np.float64)
    field = np.exp(log_field)
    out = image.with_array(np.asarray(image.array, dtype=np.float64) / field)
    return (out, field) if return_field else out
