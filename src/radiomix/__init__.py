"""radiomix: IBSI-compliant radiomics, from images to models."""

__version__ = "0.1.0"

from radiomix.batch import extract_batch  # noqa: E402
from radiomix.extract import FeatureSet, extract  # noqa: E402
from radiomix.image import Geometry, Image, Mask  # noqa: E402
from radiomix.io import read_image, read_mask  # noqa: E402
from radiomix.settings import Settings, load_settings, preset  # noqa: E402

__all__ = ["FeatureSet", "Geometry", "Image", "Mask", "Settings", "extract", "extract_batch", "load_settings", "preset", "read_image",
           "read_mask", "__version__"]
