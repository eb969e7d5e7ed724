"""Convolutional filters (IBSI 2) and simple image types.

``FILTERS`` maps a filter kind to ``function(array, spacing, spec, dimensions) -> {image_type_name: response}``:
``array`` is float64 (z, y, x), ``spacing`` (z, y, x) in mm, ``spec`` a :class:`FilterSpec`, ``dimensions`` the case's
default ('2d' slice-wise or '3d') used when the spec leaves it open. Use :func:`apply_filters` for a list of specs and
:func:`filter_margin` for the crop margin a filter needs around the ROI.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import numpy as np

from radiomix.filters.spec import FilterSpec, apply_filter, apply_filters, filter_margin

Response = dict[str, np.ndarray]


def _module(name: str):
    """A filter module, imported on first use: settings and extraction without filters never load scipy.fft."""
    return importlib.import_module(f"radiomix.filters.{name}")


def _mean(a, sp, s: FilterSpec, d) -> Response:
    dim = s.resolved_dimensions(d)
    return {s.name(d): _module("mean").mean_filter(a, s.support, s.boundary, dim)}


def _log(a, sp, s, d) -> Response:
    return {s.name(d): _module("log").log_filter(a, sp, s.sigma_mm, s.boundary, s.resolved_dimensions(d),
                                                 s.truncate or 4.0)}


def _laws(a, sp, s, d) -> Response:
    return {s.name(d): _module("laws").laws_filter(a, s.kernel, s.boundary, s.resolved_dimensions(d),
                                        bool(s.rotation_invariant), s.pooling or "max", s.energy_delta)}


def _gabor(a, sp, s, d) -> Response:
    return {s.name(d): _module("gabor").gabor_filter(a, sp, s.sigma_mm, s.lambda_mm, s.gamma, s.theta or 0.0,
                                                     s.boundary, s.resolved_dimensions(d), s.theta_step,
                                                     s.pooling or "mean", s.truncate or 4.0)}


def _wavelet(a, sp, s, d) -> Response:
    return {s.name(d): _module("wavelet").wavelet_filter(a, s.wavelet, s.subband, s.level or 1, s.boundary,
                                              s.resolved_dimensions(d), bool(s.rotation_invariant),
                                              s.pooling or "mean")}


def _simoncelli(a, sp, s, d) -> Response:
    return {s.name(d): _module("simoncelli").simoncelli_filter(a, s.level or 1, s.boundary, s.resolved_dimensions(d))}


def _riesz_log(a, sp, s, d) -> Response:
    dim = s.resolved_dimensions(d)
    base = _module("log").log_filter(a, sp, s.sigma_mm, s.boundary, dim, s.truncate or 4.0)
    return {s.name(d): _module("riesz").riesz_transform(base, s.riesz_order, s.boundary, dim,
                                             margin=_module("riesz").default_margin(a.shape, dim))}


def _riesz_simoncelli(a, sp, s, d) -> Response:
    dim = s.resolved_dimensions(d)
    return {s.name(d): _module("riesz").riesz_simoncelli(a, s.riesz_order, s.level or 1, s.boundary, dim)}


def _voxelwise(name: str):
    """A voxel-wise image type of ``filters.simple`` (square, square_root, logarithm, exponential)."""
    def run(a, sp, s, d) -> Response:
        return {s.name(d): getattr(_module("simple"), name)(a)}
    return run


def _gradient(a, sp, s, d) -> Response:
    return {s.name(d): _module("simple").gradient_magnitude(a, sp, s.resolved_dimensions(d))}


def _lbp(a, sp, s, d) -> Response:
    return {s.name(d): _module("simple").lbp(a, s.resolved_dimensions(d), s.boundary)}


FILTERS: dict[str, Callable[..., Response]] = {
    "mean": _mean,
    "log": _log,
    "laws": _laws,
    "gabor": _gabor,
    "wavelet": _wavelet,
    "simoncelli": _simoncelli,
    "riesz_log": _riesz_log,
    "riesz_simoncelli": _riesz_simoncelli,
    "square": _voxelwise("square"),
    "square_root": _voxelwise("square_root"),
    "logarithm": _voxelwise("logarithm"),
    "exponential": _voxelwise("exponential"),
    "gradient": _gradient,
    "lbp": _lbp,
}

__all__ = ["FILTERS", "FilterSpec", "apply_filter", "apply_filters", "filter_margin"]
