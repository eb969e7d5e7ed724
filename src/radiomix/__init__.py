"""radiomix: IBSI-compliant radiomics, from images to models.

``extract`` is bound eagerly (the name is also a submodule's, and the function must win); the other public names are
imported on first use (PEP 562), so ``import radiomix`` does not pull in pandas' I/O, Dask, pydicom or highdicom.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

from radiomix.extract import FeatureSet, extract

_PUBLIC = {
    "extract_batch": "radiomix.batch",
    "Geometry": "radiomix.image",
    "Image": "radiomix.image",
    "Mask": "radiomix.image",
    "read_image": "radiomix.io",
    "read_mask": "radiomix.io",
    "Settings": "radiomix.settings",
    "load_settings": "radiomix.settings",
    "preset": "radiomix.settings",
}

__all__ = ["FeatureSet", "extract", *sorted(_PUBLIC), "__version__"]  # noqa: PLE0604 - strings, built here


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'radiomix' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
