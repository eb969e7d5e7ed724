"""Load segmentation models from local files only (never downloads):

* a radiomix model folder (``model.pt`` TorchScript + ``preprocessing.json``, as :func:`.unet.train_unet` writes);
* a TorchScript file (``.pt``/``.ts``); its preprocessing comes from ``preprocessing.json`` beside it, or from
  ``<file stem>.json``, else the defaults (z-score, the image's own grid) with a warning;
* a MONAI bundle folder (``configs/`` + ``models/``): ``models/model.ts`` (TorchScript) when present, else the
  ``network_def`` of ``configs/inference.json`` (or ``.yaml``) instantiated by MONAI's ConfigParser with the weights of
  ``models/model.pt`` (loaded with ``weights_only=True``). A bundle's config can run Python expressions: load only
  bundles you trust. A ``preprocessing.json`` in the bundle root or ``configs/`` sets the preprocessing.

Plain pickled models are refused: loading them would run arbitrary code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from radiomix.errors import InputError
from radiomix.segment.deep import quiet_torchscript, require_monai, require_torch
from radiomix.segment.deep.preprocessing import PREPROCESSING_FILE, Preprocessing

log = logging.getLogger(__name__)


@dataclass
class SegmentationModel:
    """A loaded network (in eval mode, on ``device``) with the preprocessing it expects."""

    network: object
    preprocessing: Preprocessing
    source: str
    device: str = "cpu"


def _check_device(torch, device: str) -> None:
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device {device!r} was asked for, but torch sees no CUDA GPU (torch {torch.__version__}); "
                         "use --device cpu")
    if not (device == "cpu" or device.startswith("cuda")):
        raise InputError(f"device must be cpu or cuda[:N], got {device!r}")


def _jit_load(torch, path: Path, device: str):
    try:
        with quiet_torchscript():
            return torch.jit.load(str(path), map_location=device)
    except Exception as exc:  # noqa: BLE001 - torch raises RuntimeError/ValueError variants for non-TorchScript files
        raise InputError(f"{path}: not a TorchScript model ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); "
                         "save models with torch.jit.script/trace (pickled models are refused)") from None


def _find_preprocessing(*candidates: Path) -> Preprocessing | None:
    for c in candidates:
        if c.is_file():
            return Preprocessing.from_json(c)
    return None


def _load_bundle(torch, root: Path, device: str):
    ts = root / "models" / "model.ts"
    if ts.is_file():
        return _jit_load(torch, ts, device)
    weights = root / "models" / "model.pt"
    cfgs = [root / "configs" / n for n in ("inference.json", "inference.yaml", "inference.yml")]
    cfg = next((c for c in cfgs if c.is_file()), None)
    if cfg is None or not weights.is_file():
        raise InputError(f"{root}: a MONAI bundle needs models/model.ts, or configs/inference.json|yaml with "
                         "network_def and models/model.pt")
    require_monai()
    from monai.bundle import ConfigParser

    parser = ConfigParser()
    parser.read_config(str(cfg))
    if "network_def" not in parser.config:
        raise InputError(f"{cfg}: no 'network_def' entry")
    try:
        net = parser.get_parsed_content("network_def")
    except Exception as exc:  # noqa: BLE001 - MONAI raises many types for bad configs
        raise InputError(f"{cfg}: cannot build network_def: {type(exc).__name__}: {exc}") from None
    try:
        state = torch.load(str(weights), map_location=device, weights_only=True)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{weights}: cannot read the weights as a state dict: {exc}") from None
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    try:
        net.load_state_dict(state)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{weights}: weights do not fit network_def of {cfg}: {str(exc)[:300]}") from None
    return net.to(device)


def load_segmentation_model(path, device: str = "cpu") -> SegmentationModel:
    """Load a model folder, TorchScript file or MONAI bundle folder (see the module docstring)."""
    torch = require_torch()
    _check_device(torch, device)
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: model not found")
    if p.is_dir():
        if (p / "model.pt").is_file() and not (p / "configs").is_dir():
            net = _jit_load(torch, p / "model.pt", device)
            prep = _find_preprocessing(p / PREPROCESSING_FILE)
        elif (p / "configs").is_dir() or (p / "models").is_dir():
            net = _load_bundle(torch, p, device)
            prep = _find_preprocessing(p / PREPROCESSING_FILE, p / "configs" / PREPROCESSING_FILE)
        else:
            raise InputError(f"{p}: neither a radiomix model folder (model.pt, preprocessing.json) nor a MONAI bundle "
                             "(configs/, models/)")
    else:
        net = _jit_load(torch, p, device)
        prep = _find_preprocessing(p.parent / PREPROCESSING_FILE, p.with_suffix(".json"))
    if prep is None:
        log.warning("%s: no preprocessing.json found; using z-score normalisation on the image's own grid", p)
        prep = Preprocessing()
    net.eval()
    return SegmentationModel(net, prep, str(p), device)
