"""Benchmark runner for radiomix (run with the radiomix virtualenv's python); see ``_common.py``."""

from __future__ import annotations

# _common first: the import clock starts when it is imported
from _common import BIN_WIDTH, KERNEL_RADIUS, LOG_SIGMAS, T_START, WAVELET, WAVELET_SUBBANDS, parse_args, run

# isort: split

import time

import radiomix
from radiomix.extract import extract as rm_extract
from radiomix.io import read_image, read_mask
from radiomix.settings import Discretisation, Settings

T_IMPORT = time.perf_counter() - T_START
TEXTURE = ("intensity_histogram", "glcm", "glrlm", "glszm", "gldzm", "ngtdm", "ngldm")


def settings(task: str) -> Settings:
    base = Settings(name=f"bench_{task}", discretisation=Discretisation(method="fixed_bin_size", bin_width=BIN_WIDTH))
    if task == "filters":
        from radiomix.filters.spec import FilterSpec
        specs = [FilterSpec(kind="log", sigma_mm=s) for s in LOG_SIGMAS]
        specs += [FilterSpec(kind="wavelet", wavelet=WAVELET, subband=b, level=1) for b in WAVELET_SUBBANDS]
        # like PyRadiomics: first order and texture on every response map (no morphology, no IVH)
        return base.replace(families=(), filters=tuple(specs), filter_families=("statistics", *TEXTURE))
    return base


def read(args):
    img = read_image(args.image)
    return img, read_mask(args.mask, image=img)


def extract(data, task):
    img, mask = data
    s = settings(task)
    if task == "voxel":
        from radiomix.maps import feature_maps
        maps = feature_maps(img, mask, s.replace(families=("statistics", "glcm")), KERNEL_RADIUS)
        return len(maps)
    return len(rm_extract(img, mask, s).values)


if __name__ == "__main__":
    run("radiomix", radiomix.__version__, parse_args(), T_IMPORT, read, extract)
