"""Cohort extraction: manifest in, Parquet out (local process pool by default, Dask for a cluster)."""

from radiomix.batch.manifest import load_manifest
from radiomix.batch.runner import BatchResult, extract_batch

__all__ = ["BatchResult", "extract_batch", "load_manifest"]
