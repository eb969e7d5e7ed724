"""Exceptions raised by radiomix. Every message names the file (where there is one) and the problem."""

from __future__ import annotations


class RadiomixError(Exception):
    """Base class of all errors radiomix raises on purpose."""


class InputError(RadiomixError):
    """An input file or array cannot be used: missing, corrupt, empty, NaN, wrong dimensionality."""


class GeometryError(InputError):
    """Image and mask do not share one voxel grid."""


class SettingsError(RadiomixError):
    """A settings file or value is invalid (unknown key, impossible value)."""


class EmptyMaskError(InputError):
    """The mask has no voxels of the requested label (or none left after re-segmentation)."""
