"""U-Net training, model loading (model folder, TorchScript file, MONAI bundle) and sliding-window prediction."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from radiomix.errors import InputError
from radiomix.io import write_image, write_mask
from radiomix.segment import dice

from .synthetic import lesion_case

torch = pytest.importorskip("torch")
pytest.importorskip("monai")

from radiomix.segment.deep.inference import predict_mask
from radiomix.segment.deep.models import load_segmentation_model
from radiomix.segment.deep.preprocessing import Preprocessing
from radiomix.segment.deep.unet import build_unet, pairs_from_dirs, train_unet


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("unet")
    pairs = [lesion_case(s) for s in range(2)]
    res = train_unet(pairs, out, epochs=2, steps_per_epoch=1, patch=(16, 32, 32), batch_size=2,
                     channels=(4, 8), strides=(2,), spacing_mm=(1.5, 1.5, 2.5), threads=2)
    return res


def test_train_writes_torchscript_and_preprocessing(tiny_model):
    d = tiny_model.out_dir
    assert {p.name for p in d.iterdir()} >= {"model.pt", "preprocessing.json", "training.json"}
    prep = Preprocessing.from_json(d / "preprocessing.json")
    assert prep.spacing_mm == (1.5, 1.5, 2.5) and prep.patch == (16, 32, 32) and prep.normalisation == "zscore"
    assert json.loads((d / "training.json").read_text())["epochs_run"] == 2
    # the TorchScript file loads with plain torch, without radiomix
    net = torch.jit.load(str(d / "model.pt"))
    assert net(torch.zeros(1, 1, 16, 32, 32)).shape == (1, 1, 16, 32, 32)


def test_predict_returns_mask_on_input_grid(tiny_model):
    img, _ = lesion_case(50, shape=(20, 45, 37))
    m = predict_mask(str(tiny_model.out_dir), img, overlap=0.5, batch_size=3)
    assert m.geometry.differences(img.geometry) == [] and m.shape == img.shape
    # the model folder, the bare TorchScript file (preprocessing.json beside it) and a loaded model agree
    loaded = load_segmentation_model(tiny_model.out_dir / "model.pt")
    assert loaded.preprocessing.spacing_mm == (1.5, 1.5, 2.5)
    assert np.array_equal(predict_mask(loaded, img, overlap=0.5, batch_size=3).array, m.array)


def test_monai_bundle_folder(tmp_path):
    net = build_unet((4, 8), (2,), 0)
    (tmp_path / "configs").mkdir()
    (tmp_path / "models").mkdir()
    (tmp_path / "configs" / "inference.json").write_text(json.dumps({"network_def": {
        "_target_": "monai.networks.nets.UNet", "spatial_dims": 3, "in_channels": 1, "out_channels": 1,
        "channels": [4, 8], "strides": [2], "num_res_units": 0}}))
    torch.save(net.state_dict(), tmp_path / "models" / "model.pt")
    Preprocessing(patch=(16, 32, 32), normalisation="window", window=(-100, 300)).to_json(
        tmp_path / "preprocessing.json")
    img, _ = lesion_case(51, shape=(16, 32, 32))
    m = load_segmentation_model(tmp_path)
    assert m.preprocessing.patch == (16, 32, 32)
    with torch.inference_mode():
        x = torch.from_numpy(m.preprocessing.normalise(img.array))[None, None]
        expected = (net.eval()(x)[0, 0] >= 0).numpy()
    got = predict_mask(m, img, overlap=0.0)
    # one window covering the image gives the whole-image forward pass
    assert np.array_equal(got.array, expected)
    # a bundle that ships TorchScript is preferred
    torch.jit.script(net).save(str(tmp_path / "models" / "model.ts"))
    assert np.array_equal(predict_mask(str(tmp_path), img, overlap=0.0).array, expected)


def test_model_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_segmentation_model(tmp_path / "missing.pt")
    bad = tmp_path / "pickled.pt"
    torch.save({"a": 1}, bad)
    with pytest.raises(InputError, match="TorchScript"):
        load_segmentation_model(bad)
    with pytest.raises(InputError, match="neither"):
        load_segmentation_model(tmp_path)
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="CUDA"):
            load_segmentation_model(bad, device="cuda")


def test_cli_train_and_predict(tmp_path):
    from radiomix.cli import app

    for k in range(2):
        img, m = lesion_case(60 + k, shape=(16, 32, 32))
        write_image(img, tmp_path / "images" / f"case{k}.nii.gz")
        write_mask(m, tmp_path / "masks" / f"case{k}.nii.gz")
    assert len(pairs_from_dirs(tmp_path / "images", tmp_path / "masks")) == 2
    runner = CliRunner()
    r = runner.invoke(app, ["segment", "train", "--images", str(tmp_path / "images"), "--masks",
                            str(tmp_path / "masks"), "--out", str(tmp_path / "model"), "--epochs", "1",
                            "--patch", "32,32,16", "--channels", "4,8", "--batch-size", "2", "--threads", "2"])
    assert r.exit_code == 0, (r.output, r.exception)
    assert Preprocessing.from_json(tmp_path / "model" / "preprocessing.json").patch == (16, 32, 32)
    r = runner.invoke(app, ["segment", "predict", str(tmp_path / "images" / "case0.nii.gz"), "--model",
                            str(tmp_path / "model"), "--out", str(tmp_path / "pred.nii.gz"), "--device", "cpu"])
    assert r.exit_code == 0, (r.output, r.exception)
    import SimpleITK as sitk  # the prediction may be empty after one epoch: read it without read_mask

    pred = sitk.ReadImage(str(tmp_path / "pred.nii.gz"))
    assert pred.GetSize() == (32, 32, 16) and pred.GetSpacing() == (1.0, 1.0, 2.0)


@pytest.mark.slow
def test_unet_learns_generated_lesions(tmp_path):
    """A small U-Net trained on the CPU (2 threads) segments held-out generated lesions with Dice > 0.8."""
    torch.set_num_threads(2)
    train = [lesion_case(s) for s in range(12)]
    t0 = time.perf_counter()
    res = train_unet(train, tmp_path / "model", epochs=40, steps_per_epoch=8, patch=(16, 32, 32), batch_size=4,
                     channels=(8, 16, 32), strides=(2, 2), learning_rate=6e-3, threads=2, seed=0)
    held_out = [lesion_case(1000 + s) for s in range(4)]
    scores = [dice(m, predict_mask(str(res.out_dir), img, overlap=0.25)) for img, m in held_out]
    print(f"U-Net: {len(res.losses)} epochs in {res.seconds:.0f} s, total {time.perf_counter() - t0:.0f} s, "
          f"held-out Dice {np.round(scores, 3).tolist()}")
    assert min(scores) > 0.8
    # the predicted mask is written on the input grid and goes straight into extract
    from radiomix.extract import extract
    from radiomix.io import read_image, read_mask
    from radiomix.settings import Discretisation, Settings

    img, _ = held_out[0]
    write_image(img, tmp_path / "img.nii.gz")
    write_mask(predict_mask(str(res.out_dir), img), tmp_path / "pred.nii.gz")
    image = read_image(tmp_path / "img.nii.gz")
    fs = extract(image, read_mask(tmp_path / "pred.nii.gz", image=image),
                 Settings(families=("statistics",), discretisation=Discretisation(method="fixed_bin_number",
                                                                                  bin_number=8)))
    assert fs.get("statistics", "mean") > 60


SLIDING = """
import resource, sys, time
import numpy as np, torch
torch.set_num_threads(2)
from radiomix.image import Image
from radiomix.segment.deep.inference import predict_mask
from radiomix.segment.deep.models import SegmentationModel
from radiomix.segment.deep.preprocessing import Preprocessing
from radiomix.segment.deep.unet import build_unet
rng = np.random.default_rng(0)
img = Image.from_array(rng.standard_normal((120, 512, 512), dtype=np.float32), spacing=(2.5, 0.8, 0.8))
torch.manual_seed(0)
model = SegmentationModel(build_unet((4, 8, 16), (2, 2), 0).eval(), Preprocessing(patch=(32, 96, 96)), "tiny")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t = time.perf_counter()
m = predict_mask(model, img, overlap=0.25, batch_size=2)
print(f"RESULT shape={'x'.join(map(str, m.shape))} seconds={time.perf_counter() - t:.1f} "
      f"peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} before_mb={before:.0f}")
"""


@pytest.mark.slow
def test_sliding_window_on_512x512x120_stays_within_memory():
    """Sliding-window inference of a 512 x 512 x 120 volume (120 MiB as float32) on the CPU: peak RSS under 2 GiB and
    under five volume-sized buffers above what was there before."""
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(SLIDING)], check=False, capture_output=True, text=True,
                       timeout=1200)
    assert r.returncode == 0, r.stderr[-3000:]
    line = next(s for s in r.stdout.splitlines() if s.startswith("RESULT"))
    print(line)
    fields = dict(kv.split("=") for kv in line.split()[1:])
    assert fields["shape"] == "120x512x512"
    # measured here: peak 1167 MB, 755 MB before predict (torch, MONAI and the 120 MiB image): the inference adds
    # about 3.5 volume-sized float32 buffers (normalised input, stitched output, MONAI's weight map)
    assert float(fields["peak_rss_mb"]) < 2048
    assert float(fields["peak_rss_mb"]) - float(fields["before_mb"]) < 5 * 120

