"""Deep-learning segmentation (optional extra ``radiomix[deep]``: torch, MONAI).

Nothing here imports torch at module import time; the functions that need it call :func:`require_torch`, which
raises an InputError telling the user to ``pip install radiomix[deep]`` when torch or MONAI is missing.

* :mod:`.preprocessing`: the JSON-stored preprocessing of a model (target spacing, intensity normalisation, patch).
* :mod:`.unet`: a MONAI 3D U-Net, trained on image/mask pairs and saved as TorchScript plus ``preprocessing.json``.
* :mod:`.inference`: sliding-window prediction back onto the input grid.
* :mod:`.models`: loading a radiomix model folder, a TorchScript file or a MONAI bundle folder (never downloads).
"""

from __future__ import annotations

import contextlib
import warnings

from radiomix.errors import InputError


def require_torch():
    """Import and return torch, or raise InputError with the install hint when the deep extra is missing."""
    try:
        import torch
    except ImportError:
        raise InputError("this needs PyTorch and MONAI, which are not installed: pip install radiomix[deep]") from None
    return torch


def require_monai():
    """Import and return monai (after torch), or raise InputError with the install hint."""
    require_torch()
    try:
        import monai
    except ImportError:
        raise InputError("this needs MONAI, which is not installed: pip install radiomix[deep]") from None
    return monai


@contextlib.contextmanager
def quiet_torchscript():
    """Hide torch's DeprecationWarnings about ``torch.jit`` inside the block (TorchScript is still the portable format
    radiomix reads and writes; the warning would repeat on every load)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*torch\.jit.*")
        yield
