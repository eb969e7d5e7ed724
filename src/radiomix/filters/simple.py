"""Simple image types, as PyRadiomics defines them (so that its image types can be reproduced).

With ``M = max |x|`` over the (cropped) image:

* ``square``: ``x**2 / M``.
* ``square_root``: ``sign(x) * sqrt(|x| * M)``.
* ``logarithm``: ``sign(x) * log(1 + |x|)``, rescaled so that its maximum absolute value is ``M``.
* ``exponential``: ``exp(x * log(M) / M)`` (so ``x = M`` maps to ``M``).
* ``gradient``: gradient magnitude in intensity units per mm, ``sqrt(sum_i (dx/di / s_i)**2)``, central differences
  inside, one-sided at the edges (``numpy.gradient``); 2D uses only the in-plane axes.
* ``lbp`` (local binary patterns), voxel neighbourhoods without interpolation:

  * 2D (``lbp_2d``): the 8 in-plane neighbours at Chebyshev distance 1, taken in circular order; a neighbour counts as 1
    when it is >= the centre. The code is the rotation-invariant uniform code of Ojala et al. (riu2): the number of
    ones when the circular pattern has at most two 0/1 transitions, else 9.
  * 3D (``lbp_3d``): the number of the 26 neighbours that are >= the centre (0..26), a rotation-invariant count.
    (This is simpler than PyRadiomics' spherical-harmonics LBP3D and is not numerically the same.)

  Outside the image the boundary condition decides the neighbour values (default ``nearest``).
A degenerate image (M == 0) gives zeros for square, square root and logarithm, and ones for exponential.
"""

from __future__ import annotations

import numpy as np

from radiomix.filters._core import pad, spatial_axes


def _max_abs(x: np.ndarray) -> float:
    return float(np.max(np.abs(x))) if x.size else 0.0


def square(x: np.ndarray) -> np.ndarray:
    m = _max_abs(x)
    return np.zeros_like(x, dtype=float) if m == 0 else x.astype(float) ** 2 / m


def square_root(x: np.ndarray) -> np.ndarray:
    m = _max_abs(x)
    return np.sign(x) * np.sqrt(np.abs(x) * m)


def logarithm(x: np.ndarray) -> np.ndarray:
    m = _max_abs(x)
    y = np.sign(x) * np.log1p(np.abs(x))
    my = _max_abs(y)
    return np.zeros_like(x, dtype=float) if my == 0 else y * (m / my)


def exponential(x: np.ndarray) -> np.ndarray:
    m = _max_abs(x)
    if m == 0:
        return np.ones_like(x, dtype=float)
    return np.exp(x.astype(float) * (np.log(m) / m))


def gradient_magnitude(x: np.ndarray, spacing, dimensions: str = "3d") -> np.ndarray:
    axes = spatial_axes(dimensions)
    x = x.astype(float)
    out = np.zeros_like(x)
    for ax in axes:
        if x.shape[ax] < 2:
            continue
        out += np.gradient(x, float(spacing[ax]), axis=ax) ** 2
    return np.sqrt(out)


_RING_2D = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))  # (dy, dx), circular order


def _shifted(xp: np.ndarray, offset, shape) -> np.ndarray:
    sl = tuple(slice(1 + o, 1 + o + n) for o, n in zip(offset, shape))
    return xp[sl]


def lbp(x: np.ndarray, dimensions: str = "2d", boundary: str = "nearest") -> np.ndarray:
    x = x.astype(float)
    if dimensions == "2d":
        xp = pad(x, [(0, 0), (1, 1), (1, 1)], boundary)
        bits = [(_shifted(xp[:, :, :], (-1, dy, dx), x.shape) >= x) for dy, dx in _RING_2D]  # z offset 0
        bits = np.stack(bits).astype(np.int8)
        ones = bits.sum(0)
        transitions = np.abs(np.diff(np.concatenate([bits, bits[:1]]), axis=0)).sum(0)
        return np.where(transitions <= 2, ones, len(_RING_2D) + 1).astype(float)
    if dimensions == "3d":
        xp = pad(x, [(1, 1)] * 3, boundary)
        count = np.zeros(x.shape)
        for dz in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    if dz or dy or dx:
                        count += _shifted(xp, (dz, dy, dx), x.shape) >= x
        return count
    raise ValueError(f"dimensions must be '2d' or '3d', got {dimensions!r}")
