"""Benchmark runner for Nyxus 0.11.0 (Nyxus3D, in .bench-venv); see ``_common.py``.

Nyxus3D only featurizes files, so ``extract_s`` includes its reading; ``read_s`` is 0. ``original``: ``*3D_ALL*``
(3D intensity, morphology and texture features). Nyxus quantises texture to a fixed number of grey levels
(``coarse_gray_depth``), not to a fixed bin size, so its texture numbers are not comparable. ``filters`` and
``voxel``: Nyxus has no LoG/wavelet image types and no voxel-wise maps.
"""

from __future__ import annotations

# _common first: the import clock starts when it is imported
from _common import T_START, parse_args, run

# isort: split

import os
import time

import nyxus

T_IMPORT = time.perf_counter() - T_START


def read(args):
    return args.image, args.mask


def extract(data, task):
    image, mask = data
    nyx = nyxus.Nyxus3D(["*3D_ALL*"], n_feature_calc_threads=os.cpu_count() or 1)
    df = nyx.featurize_files([image], [mask], single_roi=False)
    return df.shape[1]


if __name__ == "__main__":
    run("nyxus", getattr(nyxus, "__version__", "0.11.0"), parse_args(), T_IMPORT, read, extract,
        supported=("original",), reason="Nyxus has no LoG/wavelet image types or voxel-wise maps")
