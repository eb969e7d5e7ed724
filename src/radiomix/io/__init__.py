"""Readers and writers. ``read_image``/``read_mask`` dispatch on the path: ITK formats (NIfTI, NRRD, MHA) or .npy."""

from radiomix.io.itk import read_image, read_mask, write_image, write_mask

__all__ = ["read_image", "read_mask", "write_image", "write_mask"]
