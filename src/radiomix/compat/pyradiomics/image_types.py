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
  second level; the last approximation is ``wavelet-LLL``). Odd-sized axes are grown by one voxel before the transform
  and the result is cut back to the image size (numpy resize semantics, as PyRadiomics).
* Square :math:`(cx)^2, c = 1/\\sqrt{\\max|x|}`; SquareRoot :math:`\\sqrt{c|x|}\\,\\mathrm{sign}(x), c = \\max|x|`;
  Logarithm :math:`\\log(|x| + 1)\\,\\mathrm{sign}(x)` rescaled to the original maximum absolute value;
  Exponential :math:`e^{cx}, c = \\log(\\max|x|)/\\max|x|`.
* Gradient: SimpleITK's gradient magnitude (``gradientUseSpacing``).
* LBP2D: scikit-image's local binary pattern per slice along ``force2Ddimension`` (``lbp2DRadius``,
  ``lbp2DSamples``, ``lbp2DMethod``), named ``lbp-2D``.
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
    """``ndarray.resize`` semantics: flat data kept in order, zero-filled at the end, reshaped."""
    flat = np.zeros(int(np.prod(shape)), dtype=a.dtype)
    n = min(flat.size, a.size)
    flat[:n] = a.ravel()[:n]
    return flat.reshape(shape)


def _cycle(a: np.ndarray, shape) -> np.ndarray:
    """``numpy.resize`` semantics: flat data repeated or cut in order, reshaped."""
    return np.resize(a, shape)


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
            out[i] = local_binary_pattern(moved[i], P=int(s.get("lbp2DSamples", 9)), R=float(s.get("lbp2DRadius", 1.0)),
                                          method=s.get("lbp2DMethod", "uniform"))
    yield "lbp-2D", np.moveaxis(out, 0, axis)


def lbp3d(img: sitk.Image, s: dict[str, Any]) -> Iterator[tuple[str, np.ndarray]]:
    raise SettingsError("image type LBP3D is not supported in radiomix's PyRadiomics mode yet; remove it from "
                        "'imageType' (LBP2D is supported)")
    yield  # pragma: no cover


#: PyRadiomics image type -> generator
IMAGE_TYPES = {
    "Original": original, "LoG": log, "Wavelet": wavelet, "Square": square, "SquareRoot": square_root,
    "Logarithm": logarithm, "Exponential": exponential, "Gradient": gradient, "LBP2D": lbp2d, "LBP3D": lbp3d,
}


def derived_images(img: sitk.Image, image_type: str, s: dict[str, Any]) -> Iterator[tuple[str, np.ndarray]]:
    """``(name, array)`` of every image of one PyRadiomics image type (``Original``, ``LoG``, ``Wavelet``, ...)."""
    try:
        fn = IMAGE_TYPES[image_type]
    except KeyError:
        raise SettingsError(f"unknown image type '{image_type}' (known: {', '.join(IMAGE_TYPES)})") from None
    yield from fn(img, s)
