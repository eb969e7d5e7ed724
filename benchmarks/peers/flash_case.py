"""Benchmark runner for flash-radiomics 1.0.0 (CPU backend, in .bench-venv); see ``_common.py``.

PyRadiomics-style API: binWidth 25, every scalar class (shape, firstorder, glcm, glrlm, glszm, gldm, ngtdm and its
extra ih/ivh/gldzm classes, as ``scalarFeatureClass: {}`` enables them) on the original image; ``filters``: LoG
1/2/3 mm + wavelet coif1 sub-bands, non-shape classes; ``voxel``: spatial (voxel-wise) firstorder + glcm maps with
kernelRadius 1. It writes an HDF5 file per extraction (its API always does), to a temporary folder.
"""

from __future__ import annotations

# _common first: the import clock starts when it is imported
from _common import BIN_WIDTH, KERNEL_RADIUS, LOG_SIGMAS, T_START, WAVELET, parse_args, run

# isort: split

import logging
import os
import tempfile
import time

import flash_radiomics
import SimpleITK as sitk
from flash_radiomics import RadiomicsFeatureExtractor

T_IMPORT = time.perf_counter() - T_START
logging.getLogger("flash_radiomics").setLevel(logging.ERROR)
TMP = tempfile.mkdtemp(prefix="flashbench-")
NTHREADS = os.cpu_count() or 1


def config(task: str) -> dict:
    setting = {"label": 1, "binWidth": BIN_WIDTH, "distances": [1], "additionalInfo": False}
    if task == "original":
        return {"setting": setting, "imageType": {"Original": {}}, "scalarFeatureClass": {}}
    if task == "filters":
        classes = {c: [] for c in ("firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")}
        return {"setting": setting, "imageType": {"LoG": {"sigma": list(LOG_SIGMAS)}, "Wavelet": {"wavelet": WAVELET}},
                "scalarFeatureClass": classes}
    return {"setting": setting, "voxelSetting": {"kernelRadius": KERNEL_RADIUS, "maskedKernel": True},
            "imageType": {"Original": {}}, "spatialFeatureClass": {"firstorder": [], "glcm": []}}


def read(args):
    return sitk.ReadImage(args.image), sitk.ReadImage(args.mask)


def extract(data, task):
    img, mask = data
    ex = RadiomicsFeatureExtractor(config(task), backend="cpu", num_threads=NTHREADS)
    res = ex.execute(img, mask, label=1, output_hdf5_path=os.path.join(TMP, f"{task}-{time.perf_counter_ns()}.h5"))
    return len(res)


if __name__ == "__main__":
    run("flash-radiomics", flash_radiomics.__version__, parse_args(), T_IMPORT, read, extract)
