"""``extract(image, mask, settings) -> FeatureSet``: the one place the pipeline for one case is assembled."""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from radiomix import __version__
from radiomix.features import FAMILIES
from radiomix.features.base import FeatureValue
from radiomix.image import Image, Mask
from radiomix.preprocess import prepare, roi_data
from radiomix.preprocess.pipeline import BASE_MARGIN, margin_voxels
from radiomix.settings import Settings
from radiomix.threads import available_threads, one_blas_thread, shared_pool

if TYPE_CHECKING:  # pandas is imported by the table methods only: extraction alone never loads it
    import pandas as pd

LONG_COLUMNS = ["image_type", "family", "feature", "ibsi_feature", "aggregation", "ibsi_aggregation", "value"]


@dataclass
class FeatureSet:
    """Feature values of one case, with diagnostics and provenance kept apart from the features."""

    values: list[FeatureValue]
    diagnostics: dict[str, float] = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    #: families that raised (only with ``on_family_error="record"``): "image_type/family" -> "ErrorType: message"
    errors: dict[str, str] = field(default_factory=dict)
    #: lesion columns (``radiomix.io.lesions.LESION_COLUMNS``) when made by :func:`extract_lesions`, else empty
    lesion: dict = field(default_factory=dict)

    def nan_reasons(self) -> dict[str, str]:
        """Why each NaN value is NaN: a documented degenerate input (the feature is undefined for this ROI)."""
        return {v.column: "undefined for this ROI (degenerate input, see the feature's documentation)"
                for v in self.values if v.value != v.value}

    def to_long(self) -> pd.DataFrame:
        """One row per value: image_type, family, feature, ibsi_feature, aggregation, ibsi_aggregation, value."""
        rows = [(v.image_type, v.family, v.feature, v.ibsi_feature, v.aggregation, v.ibsi_aggregation, v.value)
                for v in self.values]
        import pandas as pd

        return pd.DataFrame(rows, columns=LONG_COLUMNS)

    def to_wide(self) -> pd.Series:
        """One value per column ``{image_type}_{family}_{feature}[_{aggregation}]``."""
        import pandas as pd

        return pd.Series({v.column: v.value for v in self.values}, dtype=float)

    def to_dict(self) -> dict[str, float]:
        return {v.column: v.value for v in self.values}

    def get(self, family: str, feature: str, aggregation: str = "", image_type: str = "original") -> float:
        for v in self.values:
            if (v.image_type, v.family, v.feature, v.aggregation) == (image_type, family, feature, aggregation):
                return v.value
        raise KeyError(f"no value for {image_type}/{family}/{feature}/{aggregation or '-'}")


#: ROIs with at least this many voxels run their families concurrently (below it, thread hand-offs cost more than
#: they save: the work is short Python-level calls that hold the GIL)
PARALLEL_MIN_VOXELS = 20_000
#: ... and from this many when a family with a separable part runs (morphology: its Moran/Geary FFTs and compiled
#: kernels release the GIL; measured on 2 cores: 5k voxels 14.0 vs 16.5 ms, 2k voxels even, 0.5k slower threaded)
PARALLEL_MIN_VOXELS_PARTS = 4_000
#: threaded ROIs of at least this many voxels run with BLAS at one thread (see :func:`_threaded_families`); smaller
#: ones make only BLAS calls too small for a BLAS to thread (3 x 3 eigenvalues, MVEE on a few hundred hull points),
#: like the serial path, which never limits it. Spares the controller's library scan (1.5-3 ms, and ~8 ms with its
#: import on a process's first extraction), which a first extraction's lazy imports make the second one repeat.
BLAS_LIMIT_MIN_VOXELS = PARALLEL_MIN_VOXELS
#: families ordered longest first on large ROIs, so that the threads finish at about the same time; GLDZM last: it
#: reuses GLSZM's zone table, and a thread that took it right after GLSZM would wait for the table
_COST_ORDER = ("morphology", "glrlm", "glszm", "local_intensity", "statistics", "glcm", "ngtdm", "ngldm",
               "intensity_histogram", "ivh", "gldzm")


def family_threads() -> int:
    """Threads :func:`compute_families` may use: :func:`radiomix.threads.available_threads` (``RADIOMIX_THREADS`` or
    the CPUs, at most 4); 1 where numba has no thread-safe threading layer (OpenMP or TBB): its fallback layer
    aborts when two threads call parallel kernels at once."""
    n = available_threads()
    return n if n > 1 and _threadsafe_numba() else 1


@functools.cache
def _threadsafe_numba() -> bool:
    if "numba" not in sys.modules:  # look for the layers' files: importing numba costs ~0.16 s
        spec = importlib.util.find_spec("numba")
        folder = Path(spec.origin).parent / "np" / "ufunc" if spec and spec.origin else None
        return folder is not None and (any(folder.glob("omppool*")) or any(folder.glob("tbbpool*")))
    for layer in ("omppool", "tbbpool"):
        try:
            importlib.import_module(f"numba.np.ufunc.{layer}")
            return True
        except ImportError:
            continue
    return False


def _record(roi, name: str, exc: Exception, errors: dict[str, str] | None) -> None:
    """A family's error: raised without an ``errors`` dict, else recorded there (its features are then left out)."""
    if errors is None:
        raise exc
    errors[f"{roi.image_type}/{name}"] = f"{type(exc).__name__}: {exc}"


def _run_family(roi, name: str, errors: dict[str, str] | None):
    try:
        return list(FAMILIES[name].compute(roi))
    except Exception as exc:  # noqa: BLE001 - raised again by _record without an errors dict
        _record(roi, name, exc, errors)
        return None


def _run_task(roi, name: str, part: int | None) -> list:
    """One task of the threaded path: a family without its separable parts, or one of those parts."""
    fam = FAMILIES[name]
    if part is not None:
        return list(fam.parts[part].compute(roi))
    if not fam.parts:
        return list(fam.compute(roi))
    return list(fam.compute(roi, exclude=frozenset(n for p in fam.parts for n in p.features)))


def _threaded_families(roi, families: list[str], threads: int, errors: dict[str, str] | None) -> dict:
    """{family: rows or None (error recorded)}, the families and their separable parts (:class:`FamilyPart`) run as
    tasks on ``threads`` threads, longest first. The calling thread works too: it takes the first task (morphology,
    whose large temporaries then come from the main heap, warm from earlier calls) while a helper starts on the next
    (morphology's Moran/Geary part). BLAS at one thread meanwhile on ROIs of :data:`BLAS_LIMIT_MIN_VOXELS` or more:
    its few small calls gain nothing, and idle BLAS threads spinning would steal the families' cores."""
    rank = {name: i for i, name in enumerate(_COST_ORDER)}
    tasks = []
    for name in sorted(families, key=lambda name: rank.get(name, -1)):
        tasks += [(name, None)] + [(name, k) for k in range(len(FAMILIES[name].parts))]
    queue = iter(tasks)
    lock = threading.Lock()
    done: dict = {}

    def drain(task=None):  # run ``task``, then the next one until none is left
        while True:
            if task is None:
                with lock:
                    task = next(queue, None)
                if task is None:
                    return
            try:
                done[task] = _run_task(roi, *task)
            except BaseException as exc:  # noqa: BLE001 - raised or recorded below, in the families' order
                done[task] = exc
            task = None

    n_helpers = min(threads, len(tasks)) - 1
    pool = shared_pool("family", threads - 1)  # kept between calls
    with one_blas_thread() if roi.values.size >= BLAS_LIMIT_MIN_VOXELS else contextlib.nullcontext():
        first = next(queue)  # taken before the helpers start
        helpers = [pool.submit(drain) for _ in range(n_helpers)]
        drain(first)
        for h in helpers:
            h.result()
    results = {}
    for name in families:
        parts = [done[t] for t in tasks if t[0] == name]
        failed = [r for r in parts if isinstance(r, BaseException)]
        if failed:
            if not isinstance(failed[0], Exception):  # KeyboardInterrupt and the like are never recorded
                raise failed[0]
            _record(roi, name, failed[0], errors)
            results[name] = None
            continue
        rows = [row for r in parts for row in r]
        if len(parts) > 1:  # the family's own order: by feature (stable, so aggregations keep theirs)
            pos = {f.name: k for k, f in enumerate(FAMILIES[name].features)}
            rows.sort(key=lambda row: pos.get(row[0], len(pos)))
        results[name] = rows
    return results


def compute_families(roi, families, errors: dict[str, str] | None = None) -> list[FeatureValue]:
    """Run the named families on one RoiData. With an ``errors`` dict, a family that raises is recorded there
    (its features are left out) and the other families still run; without it, the error propagates.

    On ROIs of :data:`PARALLEL_MIN_VOXELS` voxels or more (:data:`PARALLEL_MIN_VOXELS_PARTS` with morphology), families
    run concurrently on :func:`family_threads` threads (``RADIOMIX_THREADS``); their kernels release the GIL. The
    values and their order do not depend on it."""
    families = list(families)
    threads = family_threads()
    n_parts = sum(len(FAMILIES[name].parts) for name in families)
    threshold = min(PARALLEL_MIN_VOXELS, PARALLEL_MIN_VOXELS_PARTS) if n_parts else PARALLEL_MIN_VOXELS
    if threads > 1 and len(families) + n_parts > 1 and roi.values.size >= threshold:  # values: cached, shared
        results = _threaded_families(roi, families, threads, errors)
    else:
        results = {name: _run_family(roi, name, errors) for name in families}
    out = []
    for name in families:
        rows = results[name]
        if rows is None:
            continue
        fam = FAMILIES[name]
        ibsi = {f.name: f.ibsi for f in fam.features}
        out += [FeatureValue(roi.image_type, fam.name, feat, ibsi.get(feat, ""), agg, float(value))
                for feat, agg, value in rows]
    return out


def _grid_spacing(image: Image, settings: Settings) -> tuple[float, float, float]:
    """Spacing (z, y, x) of the grid features are computed on (after resampling)."""
    if settings.resampling is None:
        return image.spacing
    new = settings.resampling.spacing_mm[::-1]
    return tuple(float(n) if n is not None else float(o) for n, o in zip(new, image.spacing))  # type: ignore


def filter_margin_mm(image: Image, settings: Settings) -> float:
    """The crop margin (mm) the configured filters need around the ROI."""
    if not settings.filters:
        return 0.0
    from radiomix.filters.spec import filter_margin

    sp = _grid_spacing(image, settings)
    return max(max(m * s for m, s in zip(filter_margin(f, sp, settings.dimensions), sp)) for f in settings.filters)


def filtered_features(prepared, settings: Settings, errors: dict[str, str] | None = None) -> list[FeatureValue]:
    """Features of every filter response (IBSI 2): filters run on the cropped, resampled image; the masks stay those
    of the original image (re-segmentation on unfiltered intensities). One response is held in memory at a time,
    besides the intermediates that filters of the image share (wavelet sub-bands share their first passes)."""
    if not settings.filters:
        return []  # nothing to import either (the filter modules cost ~3 ms on a first extraction)
    from radiomix.filters._core import shared_passes
    from radiomix.filters.spec import apply_filter, filter_margin, local_support

    spacing = prepared.image.spacing
    # the responses' voxels the families read: the ROI, plus the local intensity sphere's reach if it is computed
    reach = (margin_voxels(spacing, settings) if "local_intensity" in settings.filter_families else (BASE_MARGIN,) * 3)
    crops: dict[tuple[int, ...], object] = {}  # one crop per margin: filters of the same crop share their passes
    out: list[FeatureValue] = []
    with shared_passes():
        for spec in settings.filters:
            case = prepared
            if local_support(spec):  # on the ROI plus its own margin only (the prepared crop has the largest one)
                margin = tuple(a + b for a, b in zip(filter_margin(spec, spacing, settings.dimensions), reach))
                case = crops.setdefault(margin, prepared.cropped(margin))
            try:
                responses = apply_filter(case.image.array, spacing, spec, settings.dimensions)
            except Exception as exc:
                if errors is None:
                    exc.stage = "filter"
                    raise
                errors[f"{spec.kind}/filter"] = f"{type(exc).__name__}: {exc}"
                continue
            for name in list(responses):
                resp = responses.pop(name)
                out += compute_families(roi_data(case, settings, image_array=resp, image_type=name),
                                        settings.filter_families, errors)
                del resp
    return out


def extract(image: Image, mask: Mask, settings: Settings, *, diagnostics: str = "roi",
            on_family_error: str = "raise") -> FeatureSet:
    """Extract every feature family in ``settings.families`` from the ROI ``mask`` of ``image``.

    ``diagnostics="full"`` also measures the whole interpolated image (IBSI diagnostic rows); the default keeps work
    and memory proportional to the ROI. ``on_family_error="record"`` keeps going when one family raises and lists
    the error in ``FeatureSet.errors`` (batch runs); ``"raise"`` propagates it. Errors of reading and preprocessing
    always propagate, tagged with ``exc.stage``. Families of large ROIs run on several threads (``RADIOMIX_THREADS``,
    see :func:`compute_families`; batch workers set it to 1 per case).
    """
    if on_family_error not in ("raise", "record"):
        raise ValueError("on_family_error must be 'raise' or 'record'")
    if getattr(settings, "pyradiomics", None) is not None:  # PyRadiomics compatibility mode
        from radiomix.compat.pyradiomics.extract import extract_pyradiomics

        return extract_pyradiomics(image, mask, settings, on_family_error=on_family_error)
    t0 = time.perf_counter()
    try:
        prepared = prepare(image, mask, settings, diagnostics=diagnostics, margin_mm=filter_margin_mm(image, settings))
        roi = roi_data(prepared, settings)
    except Exception as exc:
        exc.stage = "preprocess"
        raise
    t1 = time.perf_counter()
    errors: dict[str, str] = {}
    values = compute_families(roi, settings.families, errors if on_family_error == "record" else None)
    values += filtered_features(prepared, settings, errors if on_family_error == "record" else None)
    if settings.deep_features is not None:  # embeddings of a user network on the same preprocessed crop
        from radiomix.features.deep import deep_feature_values

        try:
            values += deep_feature_values(prepared, settings.deep_features)
        except Exception as exc:
            if on_family_error != "record":
                raise
            errors["original/deep"] = f"{type(exc).__name__}: {exc}"
    t2 = time.perf_counter()
    provenance = {
        "radiomix_version": __version__,
        "settings_name": settings.name,
        "settings_digest": settings.digest(),
        "image": image.source,
        "mask": mask.source,
        "label": mask.label,
        "timings_s": {"preprocess": round(t1 - t0, 6), "features": round(t2 - t1, 6)},
        "roi_voxels": int(np.count_nonzero(prepared.mask_int.array)),
    }
    return FeatureSet(values, dict(prepared.diagnostics), provenance, errors)


def extract_lesions(image: Image, mask: Mask, settings: Settings, **kwargs) -> list[FeatureSet]:
    """Extract under ``settings.lesions``: the mask's connected components (largest first, ties in scan order).

    ``per_lesion`` gives one FeatureSet per lesion, each with ``.lesion`` = rank, voxel count, volume, centroid (mm)
    and ``lesion_count``; ``largest``, ``volume_weighted_mean`` and ``merged`` give one FeatureSet whose ``.lesion``
    holds ``lesion_count`` and ``lesion_volume_total_mm3``. Without ``settings.lesions`` it is ``[extract(...)]``.
    ``kwargs`` go to :func:`extract`.
    """
    spec = settings.lesions
    if spec is None:
        return [extract(image, mask, settings, **kwargs)]
    from radiomix.io.lesions import aggregate_values, describe_lesions, lesion_labels  # SciPy's ndimage: only here

    try:
        labels, kept = lesion_labels(mask, spec.connectivity, spec.min_voxels)
    except Exception as exc:
        exc.stage = "preprocess"
        raise
    described = describe_lesions(labels, kept, mask.geometry)
    summary = {"lesion_count": len(kept),
               "lesion_volume_total_mm3": float(sum(d["lesion_volume_mm3"] for d in described))}

    def part(rank: int) -> Mask:  # one lesion's mask at a time: memory stays one mask, however many lesions
        return Mask(labels == kept[rank - 1], mask.geometry, f"{mask.source}#lesion{rank}", label=rank)

    if spec.mode == "per_lesion":
        out = []
        for desc in described:
            fs = extract(image, part(desc["lesion"]), settings, **kwargs)
            fs.lesion = {**desc, "lesion_count": len(kept)}
            out.append(fs)
        return out
    if spec.mode in ("largest", "merged"):
        roi = part(1) if spec.mode == "largest" else Mask(np.isin(labels, kept), mask.geometry, mask.source)
        fs = extract(image, roi, settings, **kwargs)
        fs.lesion = summary
        return [fs]
    sets = [extract(image, part(d["lesion"]), settings, **kwargs) for d in described]
    template: dict[str, FeatureValue] = {}
    for fs in sets:  # a family that failed on one lesion only: that lesion counts as NaN there
        template.update({v.column: v for v in fs.values if v.column not in template})
    rows = [{c: fs.to_dict().get(c, float("nan")) for c in template} for fs in sets]
    combined = aggregate_values(rows, [d["lesion_volume_mm3"] for d in described], "volume_weighted_mean")
    values = [FeatureValue(v.image_type, v.family, v.feature, v.ibsi_feature, v.aggregation, combined[c])
              for c, v in template.items()]
    errors = {f"lesion{k}/{key}": msg for k, fs in enumerate(sets, start=1) for key, msg in fs.errors.items()}
    seconds = sum(sum((fs.provenance.get("timings_s") or {}).values()) for fs in sets)
    provenance = {**sets[0].provenance, "lesion_policy": spec.mode, "timings_s": {"total": round(seconds, 6)}}
    return [FeatureSet(values, dict(sets[0].diagnostics), provenance, errors, summary)]
