"""PyRadiomics image types: the original image and the derived images features are also computed on.

Each function takes the preprocessed (resampled / pre-cropped) SimpleITK image and the effective PyRadiomics settings
of that image type, and yields ``(name, array)`` pairs: the PyRadiomics image-type name used as the column prefix
(``original``, ``wavelet-LLH``, ``log-sigma-1-0-mm-3D``, ``square``, ...) and the float64 (z, y, x) array on the
image's grid. Filters run on the whole preprocessed image, as in PyRadiomics (set ``preCrop`` to run them on the ROI
box plus ``padDistance`` only); the pipeline crops the result to the ROI box afterwards.

Definitions follow PyRadiomics' documentation:

* LoG: SimpleITK's recursive-Gaussian Laplacian with sigma in mm and scale normalisation; a sigma too large for the
  image is skipped with a warning.
* Wavelet: PyWavelets' undecimated (stationary) transform on every axis, ``level`` levels after skipping
  ``start_level``; sub-band names list the filters as PyRadiomics does (``wavelet-LLH``; ``wavelet2-HLL`` for the
  second level; the last approximation is ``wavelet-LLL``). Odd-sized axes are grown by one voxel before the transform,
  wrapping around (the first slice repeated at the end, as PyRadiomics pads), and the result is cut back to the
  image size.
* Square :math:`(cx)^2, c = 1/\\sqrt{\\max|x|}`; SquareRoot :math:`\\sqrt{c|x|}\\,\\mathrm{sign}(x), c = \\max|x|`;
  Logarithm :math:`\\log(|x| + 1)\\,\\mathrm{sign}(x)` rescaled to the original maximum absolute value;
  Exponential :math:`e^{cx}, c = \\log(\\max|x|)/\\max|x|`.
* Gradient: SimpleITK's gradient magnitude (``gradientUseSpacing``).
* LBP2D: scikit-image's local binary pattern per slice along ``force2Ddimension`` (``lbp2DRadius``,
  ``lbp2DSamples``, ``lbp2DMethod``), named ``lbp-2D``.
* LBP3D: spherical-harmonics rotation-invariant LBP on an icosphere (see :func:`lbp3d`), ``lbp-3D-m1`` ...
  ``lbp-3D-m<lbp3DLevels>`` and the kurtosis image ``lbp-3D-k``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import SimpleITK as sitk

from radiomix.errors import SettingsError


def _arr(img: sitk.Image) -> np.ndarray:
    return sitk.GetArrayFromImage(img).astype(np.float64)


def original(img: sitk.Image, s: dict[str, Any]) -> Iterator[tuple[str, np.ndarray]]:
    yield "original", _arr(img)


def log(img: sitk.Image, s: dict[str, Any]) -> Iterator[tuple[str, np.ndarray]]:
    """Laplacian of Gaussian for every ``sigma`` (mm): ``log-sigma-<sigma with '-' for '.'>-mm-3D``."""
    sigmas = s.get("sigma") or []
    if not sigmas:
        warnings.warn("LoG image type enabled without sigma values: no LoG image computed", UserWarning, stacklevel=3)
    size = np.asarray(img.GetSize())
    spacing = np.asarray(img.GetSpacing())
    if size.min() < 4:
        warnings.warn(f"image too small for LoG filtering (size {tuple(size)}); LoG skipped", UserWarning,
                      stacklevel=3)
        return
    for sigma in sigmas:
        if not np.all(size >= np.ceil(float(sigma) / spacing) + 1):
            warnings.warn(f"LoG sigma {sigma} mm is too large for an image of size {tuple(size)}; skipped",
                          UserWarning, stacklevel=3)
            continue
        f = sitk.LaplacianRecursiveGaussianImageFilter()
        f.SetNormalizeAcrossScale(True)
        f.SetSigma(float(sigma))
        yield f"log-sigma-{str(sigma).replace('.', '-')}-mm-3D", _arr(f.Execute(img))


def _grow(a: np.ndarray, shape) -> np.ndarray:
    """Each axis grown to ``shape`` by wrapping around (periodic padding at the end)."""
    return np.pad(a, [(0, int(n) - m) for n, m in zip(shape, a.shape)], mode="wrap")


def _cycle(a: np.ndarray, shape) -> np.ndarray:
    """The leading ``shape`` part of each axis."""
    return np.ascontiguousarray(a[tuple(slice(0, int(n)) for n in shape)])


def wavelet(img: sitk.Image, s: dict[str, Any]) -> Iterator[tuple[str, np.ndarray]]:
    """Stationary wavelet sub-bands: ``wavelet-LLH`` ... (level 1), ``wavelet<k>-...`` for later levels."""
    import pywt

    name = s.get("wavelet", "coif1")
    if name not in pywt.wavelist():
        raise SettingsError(f"unknown wavelet '{name}' (PyWavelets knows: {', '.join(pywt.wavelist(kind='discrete'))})")
    w = pywt.Wavelet(name)
    start, levels = int(s.get("start_level", 0)), int(s.get("level", 1))
    axes = [2, 1, 0]
    if s.get("force2D"):
        axes.remove(int(s.get("force2Ddimension", 0)))
    data = _arr(img)
    shape = data.shape
    data = _grow(data, tuple(n + 1 if n % 2 else n for n in shape))
    approx_key = "a" * len(axes)
    for _ in range(start):
        data = pywt.swtn(data, w, level=1, start_level=0, axes=axes)[0][approx_key].copy()
    n_out = 0
    for k in range(levels):
        dec = pywt.swtn(data, w, level=1, start_level=0, axes=axes)[0]
        data = dec[approx_key].copy()
        n_out = k + 1
        prefix = "wavelet" if k == 0 else f"wavelet{k + 1}"
        for key in sorted(dec):
            if key == approx_key:
                continue
            yield f"{prefix}-{key.replace('a', 'L').replace('d', 'H')}", _cycle(dec[key], shape)
    last = "wavelet" if n_out == 1 else f"wavelet{n_out}"
    yield f"{last}-{'L' * len(axes)}", _cycle(data, shape)


def square(img: sitk.Image, s: dict[str, Any]) -> Iterator[tuple[str, np.ndarray]]:
    a = _arr(img)
    c = 1.0 / np.sqrt(np.max(np.abs(a)))
    yield "square", (c * a) ** 2


def square_root(img: sitk.Image, s: dict[str, Any]) -> Iterator[tuple[str, np.ndarray]]:
    a = _arr(img)
    c = np.max(np.abs(a))
    yield "squareroot", np.sign(a) * np.sqrt(np.abs(a) * c)


def logarithm(img: sitk.Image, s: dict[str, Any]) -> Iterator[tuple[str, np.ndarray]]:
    a = _arr(img)
    m = np.max(np.abs(a))
    out = np.sign(a) * np.log1p(np.abs(a))
    mo = np.max(np.abs(out))
    yield "logarithm", out * (m / mo) if mo > 0 else out


def exponential(img: sitk.Image, s: dict[str, Any]) -> Iterator[tuple[str, np.ndarray]]:
    a = _arr(img)
    m = np.max(np.abs(a))
    c = np.log(m) / m if m > 0 else 0.0
    yield "exponential", np.exp(c * a)


def gradient(img: sitk.Image, s: dict[str, Any]) -> Iterator[tuple[str, np.ndarray]]:
    f = sitk.GradientMagnitudeImageFilter()
    f.SetUseImageSpacing(bool(s.get("gradientUseSpacing", True)))
    yield "gradient", _arr(f.Execute(sitk.Cast(img, sitk.sitkFloat64)))


def lbp2d(img: sitk.Image, s: dict[str, Any]) -> Iterator[tuple[str, np.ndarray]]:
    from skimage.feature import local_binary_pattern

    a = _arr(img)
    axis = int(s.get("force2Ddimension", 0))
    moved = np.moveaxis(a, axis, 0)
    out = np.empty_like(moved)
    for i in range(moved.shape[0]):
        with warnings.catch_warnings():  # scikit-image warns about float input; PyRadiomics passes floats too
            warnings.simplefilter("ignore", UserWarning)
            out[i] = local_binary_pattern(moved[i], P=int(s.get("lbp2DSamples", 8)), R=float(s.get("lbp2DRadius", 1.0)),
                                          method=s.get("lbp2DMethod", "uniform"))
    yield "lbp-2D", np.moveaxis(out, 0, axis)


def icosphere(subdivisions: int = 1, radius: float = 1.0) -> np.ndarray:
    """Vertices (n, 3) of an icosphere: the regular icosahedron with vertices :math:`(\\pm 1, \\pm\\varphi, 0)` and
    its cyclic permutations on the unit sphere, each triangle split into four ``subdivisions`` times with the new
    edge midpoints pushed out to the sphere, scaled to ``radius`` (12, 42, 162, ... vertices)."""
    phi = (1.0 + np.sqrt(5.0)) / 2.0
    base = []
    for s1 in (-1.0, 1.0):
        for s2 in (-1.0, 1.0):
            base += [(s1, s2 * phi, 0.0), (0.0, s1, s2 * phi), (s2 * phi, 0.0, s1)]
    verts = np.asarray(base, dtype=np.float64)
    verts /= np.linalg.norm(verts, axis=1, keepdims=True)
    d = np.linalg.norm(verts[:, None] - verts[None], axis=2)
    edge = d[d > 1e-9].min()
    adj = np.abs(d - edge) < 1e-6
    faces = [(i, j, k) for i in range(12) for j in range(i + 1, 12) for k in range(j + 1, 12)
             if adj[i, j] and adj[j, k] and adj[i, k]]
    pts = [tuple(v) for v in verts]

    def mid(i: int, j: int, index: dict[tuple[int, int], int]) -> int:
        key = (min(i, j), max(i, j))
        if key not in index:
            m = (np.asarray(pts[i]) + np.asarray(pts[j])) / 2.0
            pts.append(tuple(m / np.linalg.norm(m)))
            index[key] = len(pts) - 1
        return index[key]

    for _ in range(int(subdivisions)):
        index: dict[tuple[int, int], int] = {}
        new_faces = []
        for i, j, k in faces:
            a, b, c = mid(i, j, index), mid(j, k, index), mid(i, k, index)
            new_faces += [(i, a, c), (a, j, b), (c, b, k), (a, b, c)]
        faces = new_faces
    return np.asarray(pts, dtype=np.float64) * float(radius)


def _spherical_harmonic(m: int, n: int, theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """:math:`Y_n^m(\\theta, \\phi) = \\sqrt{\\tfrac{2n+1}{4\\pi}\\tfrac{(n-m)!}{(n+m)!}}\\,e^{im\\theta}\\,
    P_n^m(\\cos\\phi)` with ``theta`` the azimuthal and ``phi`` the polar angle and the Condon-Shortley phase in
    :math:`P_n^m` (the definition of SciPy's ``sph_harm``, which PyRadiomics calls)."""
    from math import factorial

    from scipy.special import lpmv

    am = abs(m)
    p = lpmv(am, n, np.cos(phi))
    if m < 0:  # P_n^{-m} = (-1)^m (n-m)!/(n+m)! P_n^m
        p = p * (-1) ** am * factorial(n - am) / factorial(n + am)
    norm = np.sqrt((2 * n + 1) / (4 * np.pi) * factorial(n - m) / factorial(n + m))
    return norm * p * np.exp(1j * m * theta)


def lbp3d(img: sitk.Image, s: dict[str, Any], mask: np.ndarray | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """Rotation-invariant 3D LBP (Banerjee et al. 2012) as PyRadiomics computes it, for the voxels in ``mask``
    (0 elsewhere; PyRadiomics leaves those voxels uninitialised, and features only read ROI voxels):

    * neighbours: the vertices of an icosphere (``lbp3DIcosphereSubdivision``, radius ``lbp3DIcosphereRadius`` in
      voxels, vertex coordinates along the array axes z, y, x), sampled by cubic B-spline interpolation of the whole
      image (zero outside it) with the result in the image's pixel type (an integer image gives rounded integer
      samples, as in PyRadiomics);
    * the binary pattern :math:`b_v = [I(v) \\ge I(c)]`;
    * ``lbp-3D-m<k>`` (k = 1..``lbp3DLevels``, degree l = k - 1): the norm over the vertices of the degree-l part
      :math:`f_l(v) = \\sum_m c_{lm} Y_l^m(v)`, :math:`c_{lm} = \\sum_v b_v \\overline{Y_l^m(v)}`. As in PyRadiomics,
      :math:`Y_l^m` is evaluated with the vertex's polar angle as azimuth and its azimuth as polar angle;
    * ``lbp-3D-k``: the kurtosis (Fisher, biased) of the neighbour intensities.
    """
    from scipy import ndimage, stats

    levels = int(s.get("lbp3DLevels", 2))
    verts = icosphere(int(s.get("lbp3DIcosphereSubdivision", 1)), float(s.get("lbp3DIcosphereRadius", 1.0)))
    raw = sitk.GetArrayFromImage(img)  # interpolated in the image's own pixel type, as PyRadiomics does
    a = raw.astype(np.float64)
    if mask is None:
        raise SettingsError("image type LBP3D needs the ROI mask (PyRadiomics computes it for ROI voxels only)")
    if a.ndim != 3:
        raise SettingsError(f"image type LBP3D needs a 3D image, got {a.ndim} dimensions")
    if s.get("force2D"):
        warnings.warn("LBP3D is a 3D filter; force2D is ignored for it", UserWarning, stacklevel=3)
    idx = np.argwhere(mask)
    outs = [np.zeros_like(a) for _ in range(levels + 1)]
    if idx.size == 0:
        for k in range(levels):
            yield f"lbp-3D-m{k + 1}", outs[k]
        yield "lbp-3D-k", outs[levels]
        return
    coeffs = ndimage.spline_filter(raw, order=3, output=np.float64, mode="constant")
    r = np.linalg.norm(verts, axis=1)
    polar = np.arccos(np.clip(verts[:, 2] / r, -1.0, 1.0))
    azimuth = np.arctan2(verts[:, 1], verts[:, 0])
    proj = []
    for lvl in range(levels):
        y = np.stack([_spherical_harmonic(m, lvl, polar, azimuth) for m in range(-lvl, lvl + 1)])  # (2l+1, n)
        proj.append(np.conj(y).T @ y)  # (n, n): b -> f_l at the vertices
    center = raw[tuple(idx.T)].astype(np.float64)
    chunk = max(1, 200_000 // len(verts))
    for start in range(0, len(idx), chunk):
        sl = slice(start, start + chunk)
        pts = idx[sl, None, :] + verts[None]
        vals = ndimage.map_coordinates(coeffs, pts.reshape(-1, 3).T, order=3, mode="constant", prefilter=False,
                                       output=raw.dtype).reshape(pts.shape[:2]).astype(np.float64)
        b = (vals >= center[sl, None]).astype(np.float64)
        where = tuple(idx[sl].T)
        for lvl in range(levels):
            outs[lvl][where] = np.linalg.norm(b @ proj[lvl], axis=1)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            outs[levels][where] = stats.kurtosis(vals, axis=1, fisher=True, bias=True)
    for k in range(levels):
        yield f"lbp-3D-m{k + 1}", outs[k]
    yield "lbp-3D-k", outs[levels]


#: PyRadiomics image type -> generator
IMAGE_TYPES = {
    "Original": original, "LoG": log, "Wavelet": wavelet, "Square": square, "SquareRoot": square_root,
    "Logarithm": logarithm, "Exponential": exponential, "Gradient": gradient, "LBP2D": lbp2d, "LBP3D": lbp3d,
}


def derived_images(img: sitk.Image, image_type: str, s: dict[str, Any],
                   mask: np.ndarray | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """``(name, array)`` of every image of one PyRadiomics image type (``Original``, ``LoG``, ``Wavelet``, ...).
    ``mask`` (bool, z y x, on the grid of ``img``) is the ROI; LBP3D needs it."""
    try:
        fn = IMAGE_TYPES[image_type]
    except KeyError:
        raise SettingsError(f"unknown image type '{image_type}' (known: {', '.join(IMAGE_TYPES)})") from None
    if image_type == "LBP3D":
        yield from fn(img, s, mask)
    else:
        yield from fn(img, s)
