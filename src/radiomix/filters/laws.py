"""Laws kernels (IBSI 2): separable combinations of normalised 1D kernels, optional rotation invariance by pooling
over the signed axis permutations of the kernel, and an optional energy map.

* 1D kernels (each with unit L2 norm; all except L are zero-mean):
  L3 = (1 2 1)/sqrt(6), E3 = (-1 0 1)/sqrt(2), S3 = (-1 2 -1)/sqrt(6),
  L5 = (1 4 6 4 1)/sqrt(70), E5 = (-1 -2 0 2 1)/sqrt(10), S5 = (-1 0 2 0 -1)/sqrt(6),
  W5 = (-1 2 0 -2 1)/sqrt(10), R5 = (1 -4 6 -4 1)/sqrt(70).
* A kernel name such as ``E5L5S5`` lists the 1D kernels along x, y, z (IBSI order), so for our (z, y, x) arrays
  the first kernel acts on axis 2 (x), the second on axis 1 (y), the third on axis 0 (z). A 2D name (``L5S5``) acts on
  x then y, slice-wise.
* Rotation invariance pools (max, min or mean) the responses of the kernel under every axis permutation combined with
  every axis flip: 8 orientations in 2D, 48 in 3D (flipping a symmetric kernel changes nothing, flipping an
  antisymmetric one changes the sign; duplicates are computed once).
* Energy map: the mean of the absolute response over a (2 delta + 1)^d neighbourhood (Chebyshev distance delta),
  with the same boundary condition.
"""

from __future__ import annotations

import re

import numpy as np

from radiomix.filters._core import convolve_separable, pool, signed_permutations, spatial_axes

_RAW = {
    "L3": [1, 2, 1], "E3": [-1, 0, 1], "S3": [-1, 2, -1],
    "L5": [1, 4, 6, 4, 1], "E5": [-1, -2, 0, 2, 1], "S5": [-1, 0, 2, 0, -1],
    "W5": [-1, 2, 0, -2, 1], "R5": [1, -4, 6, -4, 1],
}
#: the normalised 1D Laws kernels
KERNELS_1D: dict[str, np.ndarray] = {k: np.asarray(v, float) / np.linalg.norm(v) for k, v in _RAW.items()}


def parse_kernel(name: str) -> list[str]:
    """``'E5L5S5'`` -> ``['E5', 'L5', 'S5']`` (x, y, z order); case-insensitive."""
    parts = re.findall(r"[A-Za-z]\d", name)
    if "".join(parts).upper() != name.upper() or not parts:
        raise ValueError(f"cannot read Laws kernel {name!r}; use names like L5E5E5 or L5S5 from {sorted(KERNELS_1D)}")
    parts = [p.upper() for p in parts]
    for p in parts:
        if p not in KERNELS_1D:
            raise ValueError(f"unknown Laws 1D kernel {p!r} in {name!r}; known: {sorted(KERNELS_1D)}")
    return parts


def _check_dims(parts: list[str], dimensions: str) -> tuple[int, ...]:
    axes = spatial_axes(dimensions)
    if len(parts) != len(axes):
        raise ValueError(f"Laws kernel {''.join(parts)} has {len(parts)} 1D kernels but a {dimensions} filter needs "
                         f"{len(axes)}")
    return axes


def laws_filter(array: np.ndarray, kernel: str, boundary: str, dimensions: str = "3d",
                rotation_invariant: bool = False, pooling: str = "max", energy_delta: int | None = None) -> np.ndarray:
    array = np.asarray(array, dtype=float)
    parts = parse_kernel(kernel)
    axes = _check_dims(parts, dimensions)
    k1d = [KERNELS_1D[p] for p in parts]            # x, y, (z)
    order = tuple(reversed(axes))                   # array axis for x, y, (z): (2, 1[, 0])
    nd = len(parts)

    def response(assign):
        return convolve_separable(array, dict(zip(order, assign)), boundary)

    if not rotation_invariant:
        out = response(k1d)
    else:
        seen = set()
        configs = []
        for perm, flips in signed_permutations(nd):
            assign = [k1d[perm[i]][::-1] if flips[i] else k1d[perm[i]] for i in range(nd)]
            key = tuple(tuple(np.round(a, 12)) for a in assign)
            if key not in seen:
                seen.add(key)
                configs.append(assign)
        out = pool((response(a) for a in configs), pooling)
    if energy_delta is not None:
        if energy_delta < 0:
            raise ValueError(f"energy delta must be >= 0, got {energy_delta}")
        w = np.full(2 * energy_delta + 1, 1.0 / (2 * energy_delta + 1))
        out = convolve_separable(np.abs(out), {ax: w for ax in axes}, boundary)
    return out


def laws_margin(kernel: str, energy_delta: int | None) -> int:
    parts = parse_kernel(kernel)
    return max(KERNELS_1D[p].size // 2 for p in parts) + (energy_delta or 0)
