"""Image perturbations for feature robustness (Zwanenburg et al. 2019, Sci Rep 9:614) and :func:`perturbation_icc`.

Each perturbation maps an (Image, Mask) pair to a new pair on the same voxel grid:

* ``rotation``: in-plane rotation (about z) by an angle in degrees, around the volume centre;
* ``translation``: sub-voxel shift (fractions of a voxel per axis);
* ``noise``: additive Gaussian noise with the image's own noise SD (estimated by the wavelet MAD estimator of
  Donoho & Johnstone, :func:`skimage.restoration.estimate_sigma`), or a given SD;
* ``volume``: growth / shrinkage of the ROI by a volume fraction (e.g. -0.2 .. +0.2), through the signed distance map
  (in mm, so anisotropic voxels are handled);
* ``contour``: contour randomisation with supervoxels (SLIC, :func:`skimage.segmentation.slic`): every supervoxel
  that overlaps the ROI is drawn into the new ROI with probability equal to its overlap fraction.

Image interpolation is linear; masks are interpolated linearly and thresholded at 0.5, as IBSI recommends.
:func:`perturbations` draws ``n`` random combinations; :func:`perturbation_icc` extracts features from every
perturbation of every case of a cohort and ranks the features by ICC(1,1) (the form Zwanenburg et al. use: the
perturbations of a case are exchangeable "raters").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import ndimage

from radiomix.errors import EmptyMaskError, InputError
from radiomix.image import Image, Mask, check_same_grid

KINDS = ("rotation", "translation", "noise", "volume", "contour")
#: contour randomisation: boxes larger than this many voxels compute their supervoxels on a strided grid
SLIC_VOXELS = 400_000

__all__ = [
    "KINDS",
    "adapt_volume",
    "add_noise",
    "perturb",
    "perturbation_icc",
    "perturbation_table",
    "perturbations",
    "randomise_contour",
    "rotate",
    "translate",
]


def _mask_from_float(m: np.ndarray, mask: Mask, what: str) -> Mask:
    sel = m >= 0.5
    if not sel.any():
        raise EmptyMaskError(f"{mask.source}: the ROI vanished under {what}")
    return Mask(sel, mask.geometry, f"{mask.source}+{what}", mask.label)


def rotate(image: Image, mask: Mask, angle_deg: float) -> tuple[Image, Mask]:
    """Rotate image and mask in-plane (the y-x plane, about the z axis) by ``angle_deg`` around the volume centre.

    Voxels rotated in from outside the image take the nearest edge value. In-plane spacing should be isotropic (as
    after IBSI resampling); otherwise the rotation is in voxel, not physical, space.
    """
    check_same_grid(image, mask)
    what = f"rotation({angle_deg:g}deg)"
    a = ndimage.rotate(np.asarray(image.array, float), angle_deg, axes=(1, 2), reshape=False, order=1,
                       mode="nearest")
    m = ndimage.rotate(mask.array.astype(float), angle_deg, axes=(1, 2), reshape=False, order=1, mode="constant")
    return image.with_array(a.astype(np.float64)), _mask_from_float(m, mask, what)


def translate(image: Image, mask: Mask, shift_vox) -> tuple[Image, Mask]:
    """Shift image and mask by ``shift_vox`` voxels (z, y, x), usually fractions in [0, 1)."""
    check_same_grid(image, mask)
    shift = tuple(float(s) for s in shift_vox)
    what = "translation(" + ",".join(f"{s:.3g}" for s in shift) + ")"
    a = ndimage.shift(np.asarray(image.array, float), shift, order=1, mode="nearest")
    m = ndimage.shift(mask.array.astype(float), shift, order=1, mode="constant")
    return image.with_array(a), _mask_from_float(m, mask, what)


def estimate_noise_sd(image: Image) -> float:
    """Noise SD by the wavelet-domain MAD estimator (Donoho & Johnstone 1994) via skimage."""
    from skimage.restoration import estimate_sigma

    a = np.asarray(image.array, float)
    return float(np.mean([estimate_sigma(s) for s in a])) if a.shape[0] > 1 else float(estimate_sigma(a[0]))


def add_noise(image: Image, rng: np.random.Generator, sd: float | None = None) -> Image:
    """Add zero-mean Gaussian noise with SD ``sd`` (default: the image's own estimated noise SD)."""
    if sd is None:
        sd = estimate_noise_sd(image)
    return image.with_array(np.asarray(image.array, float) + rng.normal(0.0, sd, image.shape))


def adapt_volume(mask: Mask, fraction: float) -> Mask:
    """Grow (``fraction`` > 0) or shrink (< 0) the ROI so that its volume changes by ``fraction`` (e.g. 0.1 = +10%),
    through the signed Euclidean distance map in mm. The result is the closest achievable volume."""
    if fraction <= -1:
        raise InputError(f"volume fraction must be > -1, got {fraction}")
    full = mask.array
    if not full.any():
        raise EmptyMaskError(f"{mask.source}: the mask is empty")
    # work on the ROI box plus room to grow (memory and time proportional to the ROI); if the grown ROI reaches a
    # cut edge of that box, fall back to the whole image
    bb = mask.bounding_box()
    pad = [1 + (0 if fraction <= 0 else 2 + int(np.ceil((s.stop - s.start) * fraction))) for s in bb]
    box = tuple(slice(max(0, s.start - p), min(n, s.stop + p)) for s, p, n in zip(bb, pad, full.shape))
    new = _adapt_volume_box(full[box], mask.geometry.spacing, fraction, round(full.sum() * (1 + fraction)))
    cut = [(b.start > 0, b.stop < n) for b, n in zip(box, full.shape)]
    touches = any((lo and new.take(0, axis=k).any()) or (hi and new.take(-1, axis=k).any())
                  for k, (lo, hi) in enumerate(cut))
    if touches:
        box = (slice(None),) * 3
        new = _adapt_volume_box(full, mask.geometry.spacing, fraction, round(full.sum() * (1 + fraction)))
    out = np.zeros(full.shape, bool)
    out[box] = new
    return Mask(out, mask.geometry, f"{mask.source}+volume({fraction:+.3g})", mask.label)


def _adapt_volume_box(m: np.ndarray, sp, fraction: float, target: int) -> np.ndarray:
    inside = ndimage.distance_transform_edt(m, sampling=sp)
    outside = ndimage.distance_transform_edt(~m, sampling=sp)
    signed = np.where(m, -inside, outside)  # < 0 inside, > 0 outside
    # distances on a voxel grid tie a lot: break ties by the local share of ROI voxels (smoothed mask), so the
    # volume hits the target exactly and growth/shrinkage follows the surface evenly
    smooth = ndimage.uniform_filter(m.astype(float), size=3, mode="constant")
    target = min(max(target, 1), m.size)
    order = np.lexsort((-smooth.ravel(), signed.ravel()))
    new = np.zeros(m.size, bool)
    new[order[:target]] = True
    return new.reshape(m.shape)


def randomise_contour(image: Image, mask: Mask, rng: np.random.Generator, n_segments: int | None = None,
                      compactness: float = 0.05, max_num_iter: int = 5) -> Mask:
    """Contour randomisation with supervoxels (Zwanenburg et al. 2019): SLIC supervoxels of the image around the ROI;
    each supervoxel overlapping the ROI is included with probability equal to the fraction of it inside the ROI.

    ``n_segments`` defaults to about 30 supervoxels per ROI volume in the box around the ROI (20..5000). The box
    is the ROI's bounding box plus half its extent on each side (a smaller box gave supervoxels that follow the ROI
    poorly on small phantoms); SLIC runs ``max_num_iter`` iterations on float32 intensities (5: the overlap with the
    ROI is the same as with 10 on the test phantoms, at half the cost of the most expensive perturbation). Boxes of
    more than :data:`SLIC_VOXELS` voxels get their supervoxels on every ``step``-th voxel per axis, spread back to
    full resolution (supervoxels of thousands of voxels keep their shape; their boundaries get ``step``-voxel steps).
    """
    from skimage.segmentation import slic

    check_same_grid(image, mask)
    bb = mask.bounding_box()
    pad = [max(2, (s.stop - s.start) // 2) for s in bb]
    box = tuple(slice(max(0, s.start - p), min(n, s.stop + p)) for s, p, n in zip(bb, pad, mask.geometry.shape))
    a = np.asarray(image.array[box], np.float32)
    m = mask.array[box]
    if n_segments is None:
        n_segments = int(np.clip(30 * a.size / max(1, m.sum()), 20, 5000))
    span = np.ptp(a) or 1.0
    # large boxes: supervoxels on every ``step``-th voxel (they span thousands of voxels, so this barely changes
    # them), labels spread back by repetition; keeps the cost near SLIC_VOXELS voxels
    step = max(1, int(np.ceil((a.size / SLIC_VOXELS) ** (1 / 3) - 1e-9)))
    small = a[::step, ::step, ::step] if step > 1 else a
    seg = slic((small - a.min()) / span, n_segments=n_segments, compactness=compactness, channel_axis=None,
               spacing=np.asarray(image.spacing) * step, start_label=1, enforce_connectivity=True,
               max_num_iter=max_num_iter)
    if step > 1:
        for ax in range(3):
            seg = np.repeat(seg, step, axis=ax)
        seg = np.ascontiguousarray(seg[: a.shape[0], : a.shape[1], : a.shape[2]])
    ids = seg.ravel()
    size = np.bincount(ids)
    inside = np.bincount(ids, weights=m.ravel().astype(float), minlength=size.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(size > 0, inside / size, 0.0)
    draw = rng.random(frac.size) < frac
    if not draw.any():
        draw[np.argmax(frac)] = True
    new = np.zeros(mask.geometry.shape, bool)
    new[box] = draw[seg]
    return Mask(new, mask.geometry, f"{mask.source}+contour", mask.label)


def perturb(image: Image, mask: Mask, *, rotation_deg: float = 0.0, translation_vox=(0.0, 0.0, 0.0),
            noise: bool = False, volume_fraction: float = 0.0, contour: bool = False,
            rng: np.random.Generator | None = None, noise_sd: float | None = None) -> tuple[Image, Mask]:
    """Apply a combination, in the order rotation, translation, noise, volume adaptation, contour randomisation."""
    rng = np.random.default_rng(rng)
    if rotation_deg:
        image, mask = rotate(image, mask, rotation_deg)
    if any(translation_vox):
        image, mask = translate(image, mask, translation_vox)
    if noise:
        image = add_noise(image, rng, noise_sd)
    if volume_fraction:
        mask = adapt_volume(mask, volume_fraction)
    if contour:
        mask = randomise_contour(image, mask, rng)
    return image, mask


def perturbations(image: Image, mask: Mask, n: int = 20, seed=0, kinds: Sequence[str] = KINDS, *,
                  max_rotation_deg: float = 15.0, max_volume_fraction: float = 0.2
                  ) -> list[tuple[Image, Mask, dict]]:
    """``n`` random combinations of the perturbations in ``kinds``: (image, mask, parameters) triples.

    Parameters are drawn per perturbation: rotation uniform in +-``max_rotation_deg``, translation uniform in
    [0, 1) voxel per in-plane axis (and along z for 3D volumes), volume fraction uniform in +-``max_volume_fraction``.
    Same seed, same perturbations.
    """
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown perturbation(s) {sorted(unknown)}; choose from {KINDS}")
    rng = np.random.default_rng(seed)
    noise_sd = estimate_noise_sd(image) if "noise" in kinds else None
    out = []
    for _ in range(int(n)):
        p = {
            "rotation_deg": float(rng.uniform(-max_rotation_deg, max_rotation_deg)) if "rotation" in kinds else 0.0,
            "translation_vox": tuple(float(v) for v in rng.uniform(0, 1, 3) * np.array(
                [0.0 if image.is_2d else 1.0, 1.0, 1.0])) if "translation" in kinds else (0.0, 0.0, 0.0),
            "noise": "noise" in kinds,
            "volume_fraction": float(rng.uniform(-max_volume_fraction, max_volume_fraction))
            if "volume" in kinds else 0.0,
            "contour": "contour" in kinds,
        }
        child = np.random.default_rng(rng.integers(2**63))
        im, m = perturb(image, mask, rng=child, noise_sd=noise_sd, **p)
        out.append((im, m, p))
    return out


def _as_cohort(image, mask):
    if isinstance(image, Image):
        image = [image]
    if isinstance(mask, Mask):
        mask = [mask] * len(image) if len(image) > 1 and not isinstance(mask, Sequence) else [mask]
    image, mask = list(image), list(mask)
    if len(image) != len(mask):
        raise InputError(f"{len(image)} images but {len(mask)} masks")
    return image, mask


def perturbation_table(image, mask, settings, n: int = 20, seed=0, kinds: Sequence[str] = KINDS,
                       extractor: Callable | None = None) -> pd.DataFrame:
    """Long table (``case``, ``perturbation``, one column per feature) of features extracted from ``n`` perturbations
    of each case. ``image``/``mask`` are one pair or equal-length sequences (a cohort). ``extractor(image, mask,
    settings)`` defaults to :func:`radiomix.extract`; it must return a FeatureSet or a mapping name -> value."""
    if extractor is None:
        from radiomix.extract import extract as extractor
    images, masks = _as_cohort(image, mask)
    rows = []
    for c, (im, m) in enumerate(zip(images, masks)):
        for j, (pim, pm, _) in enumerate(perturbations(im, m, n, seed=(seed, c), kinds=kinds)):
            fs = extractor(pim, pm, settings)
            vals = fs.to_dict() if hasattr(fs, "to_dict") else dict(fs)
            rows.append({"case": c, "perturbation": j, **vals})
    return pd.DataFrame(rows)


def perturbation_icc(image, mask, settings, n: int = 20, seed=0, kinds: Sequence[str] = KINDS,
                     extractor: Callable | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Rank features by their robustness to image perturbations: ICC(1,1) over ``n`` perturbations per case.

    ``image`` and ``mask`` are sequences (a cohort of at least 2 cases: the ICC compares the between-case variance
    with the variance across perturbations, so one case cannot give an ICC). Returns one row per feature, sorted
    from the most to the least robust: ``icc1``, ``icc1_low``, ``icc1_high``, ``rank`` (1 = most robust). Features
    that are NaN in any perturbation are dropped with a warning; features without between-case variance have NaN
    ICC and come last.
    """
    images, masks = _as_cohort(image, mask)
    if len(images) < 2:
        raise InputError("perturbation_icc needs at least 2 cases (a list of images and masks): an ICC compares the "
                         "variance between cases with the variance across perturbations of each case")
    if n < 2:
        raise InputError(f"n must be >= 2 perturbations per case, got {n}")
    table = perturbation_table(images, masks, settings, n, seed, kinds, extractor)
    feats = [c for c in table.columns if c not in ("case", "perturbation")]
    if not feats:
        raise InputError("the extractor returned no features (are the families in settings implemented?)")
    from radiomix.analysis.robustness import finite_features, icc

    feats = finite_features(table, feats, under="some perturbation")

    res = icc(table, "case", "perturbation", feats, alpha=alpha)[["icc1", "icc1_low", "icc1_high"]]
    res = res.sort_values("icc1", ascending=False, na_position="last")
    res["rank"] = np.arange(1, len(res) + 1)
    return res
