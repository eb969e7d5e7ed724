"""Benchmark runner for MIRP 2.7.0 (in .bench-venv); see ``_common.py``.

MIRP reads the files itself (its API takes paths), so ``extract_s`` includes its reading; ``read_s`` is 0.
``original``: every feature family, fixed bin size 25, no interpolation, 3D. MIRP's defaults are kept otherwise, so
Moran's I / Geary's C use its approximation for large ROIs (radiomix computes them exactly). ``filters``: LoG 1/2/3 mm
and the 8 coif1 separable wavelet sub-bands (level 1, no rotation invariance), with MIRP's default response-map
features (statistical family only). ``voxel``: MIRP has no voxel-wise feature maps.
"""

from __future__ import annotations

# _common first: the import clock starts when it is imported
from _common import BIN_WIDTH, LOG_SIGMAS, T_START, WAVELET, parse_args, run

# isort: split

import logging
import time
from importlib.metadata import version

import mirp

T_IMPORT = time.perf_counter() - T_START
logging.getLogger("mirp").setLevel(logging.ERROR)


def read(args):
    return args.image, args.mask


def extract(data, task):
    image, mask = data
    kw = {"image": image, "mask": mask, "image_modality": "CT",
          "base_feature_families": "all" if task == "original" else "none",
          "base_discretisation_method": "fixed_bin_size", "base_discretisation_bin_width": BIN_WIDTH, "by_slice": False}
    if task == "filters":
        kw.update(filter_kernels=["laplacian_of_gaussian", "separable_wavelet"],
                  laplacian_of_gaussian_sigma=list(LOG_SIGMAS), separable_wavelet_families=WAVELET,
                  separable_wavelet_set=["lll", "llh", "lhl", "lhh", "hll", "hlh", "hhl", "hhh"],
                  separable_wavelet_rotation_invariance=False)
    res = mirp.extract_features(**kw)
    return sum(df.shape[1] for df in res)


if __name__ == "__main__":
    run("mirp", version("mirp"), parse_args(), T_IMPORT, read, extract, supported=("original", "filters"),
        reason="MIRP computes no voxel-wise feature maps")
