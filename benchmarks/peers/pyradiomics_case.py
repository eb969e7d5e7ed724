"""Benchmark runner for PyRadiomics (pyradiomics-bhklab 3.1.4 in .bench-venv); see ``_common.py``.

Settings: binWidth 25, no resampling, 3D, every feature class (shape, firstorder, glcm, glrlm, glszm, gldm, ngtdm)
on the original image; ``filters``: LoG sigma 1/2/3 mm + the 8 wavelet (coif1, level 1) sub-bands with every
non-shape class on each (PyRadiomics' default for filtered images); ``voxel``: voxel-based firstorder + glcm with
kernelRadius 1, maskedKernel true.
"""

from __future__ import annotations

# _common first: the import clock starts when it is imported
from _common import BIN_WIDTH, KERNEL_RADIUS, LOG_SIGMAS, T_START, WAVELET, parse_args, run

# isort: split

import logging
import time

import radiomics
import SimpleITK as sitk
from radiomics import featureextractor

T_IMPORT = time.perf_counter() - T_START
radiomics.logger.setLevel(logging.ERROR)


def extractor(task: str):
    ex = featureextractor.RadiomicsFeatureExtractor(binWidth=BIN_WIDTH, force2D=False, label=1)
    ex.disableAllFeatures()
    if task == "original":
        ex.enableAllFeatures()
    elif task == "filters":
        ex.enableAllFeatures()
        ex.enableFeatureClassByName("shape", False)
        ex.disableAllImageTypes()
        ex.enableImageTypeByName("LoG", customArgs={"sigma": list(LOG_SIGMAS)})
        ex.enableImageTypeByName("Wavelet", customArgs={"wavelet": WAVELET})
    else:
        ex.enableFeatureClassByName("firstorder")
        ex.enableFeatureClassByName("glcm")
        ex.settings.update(kernelRadius=KERNEL_RADIUS, maskedKernel=True, voxelBatch=-1)
    ex.settings["additionalInfo"] = False
    return ex


def read(args):
    return sitk.ReadImage(args.image), sitk.ReadImage(args.mask)


def extract(data, task):
    img, mask = data
    res = extractor(task).execute(img, mask, voxelBased=task == "voxel")
    return len(res)


if __name__ == "__main__":
    run("pyradiomics", radiomics.__version__, parse_args(), T_IMPORT, read, extract)
