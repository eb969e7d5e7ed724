"""Deep features from a small TorchScript network built here and its ONNX export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from radiomix.errors import InputError
from radiomix.extract import extract
from radiomix.features.deep import deep_embedding
from radiomix.preprocess import prepare
from radiomix.settings import DeepFeatures, Discretisation, Resampling, Settings

from .synthetic import lesion_case

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
nn = torch.nn


class FeatureMapNet(nn.Module):
    """(1, 1, z, y, x) -> (1, 6, z/2, y/2, x/2)."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv3d(1, 4, 3, padding=1)
        self.c2 = nn.Conv3d(4, 6, 3, stride=2, padding=1)

    def forward(self, x):
        return self.c2(torch.relu(self.c1(x)))


class VectorNet(nn.Module):
    """(1, 1, z, y, x) -> (1, 6): a global-average-pooled feature map."""

    def __init__(self):
        super().__init__()
        self.body = FeatureMapNet()

    def forward(self, x):
        return torch.tanh(self.body(x)).mean(dim=(2, 3, 4))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("deep")
    torch.manual_seed(0)
    out = {}
    for name, net in (("fmap", FeatureMapNet()), ("vec", VectorNet())):
        net.eval()
        ts = d / f"{name}.pt"
        torch.jit.script(net).save(str(ts))
        onnx = d / f"{name}.onnx"
        x = torch.randn(1, 1, 12, 16, 16)
        torch.onnx.export(net, (x,), str(onnx), dynamo=False, input_names=["image"], output_names=["features"],
                          dynamic_axes={"image": {2: "z", 3: "y", 4: "x"}, "features": {2: "z", 3: "y", 4: "x"}}
                          if name == "fmap" else {"image": {2: "z", 3: "y", 4: "x"}})
        out[name] = (ts, onnx)
    return out


def _spec(path, fmt, **kw):
    return DeepFeatures(model_path=str(path), format=fmt, **kw)


@pytest.mark.parametrize("kind", ["fmap", "vec"])
@pytest.mark.parametrize("extra", [{}, {"input_size": (16, 24, 24), "pooling": "max", "intensity_window": (-50, 200)}])
def test_deterministic_and_same_in_torchscript_and_onnx(models, kind, extra):
    img, m = lesion_case(11)
    ts, onnx = models[kind]
    a = deep_embedding(img.array, m.array, img.spacing, _spec(ts, "torchscript", **extra))
    b = deep_embedding(img.array, m.array, img.spacing, _spec(ts, "torchscript", **extra))
    c = deep_embedding(img.array, m.array, img.spacing, _spec(onnx, "onnx", **extra))
    assert a.shape == (6,) and np.all(np.isfinite(a))
    assert np.array_equal(a, b)
    np.testing.assert_allclose(c, a, rtol=1e-4, atol=1e-5)
    # a different ROI gives a different embedding
    img2, m2 = lesion_case(12)
    assert not np.allclose(deep_embedding(img2.array, m2.array, img2.spacing, _spec(ts, "torchscript", **extra)), a)


def test_mean_pooling_is_mask_weighted(models):
    ts, _ = models["fmap"]
    img, m = lesion_case(13)
    e = deep_embedding(img.array, m.array, img.spacing, _spec(ts, "torchscript"))
    # by hand: feature map of the ROI box, mask weights resized to the map (stride 2 -> about every other voxel)
    box = m.bounding_box()
    net = torch.jit.load(str(ts))
    with torch.inference_mode():
        f = net(torch.from_numpy(np.ascontiguousarray(img.array[box], np.float32))[None, None])[0].numpy()
    from radiomix.features.deep import _resize

    w = np.clip(_resize(m.array[box].astype(np.float32), f.shape[1:]), 0, 1)
    np.testing.assert_allclose(e, (f * w).sum((1, 2, 3)) / w.sum(), rtol=1e-5)


def test_extract_adds_deep_family_lined_up_with_handcrafted(models):
    ts, onnx = models["fmap"]
    base = Settings(name="deep", families=("statistics",),
                    discretisation=Discretisation(method="fixed_bin_number", bin_number=16),
                    resampling=Resampling(spacing_mm=(1.5, 1.5, 1.5), interpolator="linear"))
    rows = {}
    for fmt, path in (("torchscript", ts), ("onnx", onnx)):
        s = base.replace(deep_features=_spec(path, fmt, margin_mm=2.0))
        table = []
        for case in (21, 22, 23):
            img, m = lesion_case(case)
            fs = extract(img, m, s)
            table.append({"case_id": f"c{case}", **fs.to_wide()})
            # the deep columns are the embedding of the same preprocessed crop the handcrafted features saw
            prep = prepare(img, m, s)
            emb = deep_embedding(prep.image.array, prep.mask_int.array, prep.image.spacing, s.deep_features)
            np.testing.assert_allclose([fs.get("deep", f"deep_{i:04d}") for i in range(6)], emb, rtol=1e-6)
        rows[fmt] = pd.DataFrame(table).set_index("case_id")
    df = rows["torchscript"]
    deep_cols = [f"original_deep_deep_{i:04d}" for i in range(6)]
    assert "original_statistics_mean" in df.columns and all(c in df.columns for c in deep_cols)
    assert df[deep_cols].notna().all().all() and len(df) == 3
    assert df[deep_cols].std().max() > 0  # cases differ
    assert list(rows["onnx"].columns) == list(df.columns)
    np.testing.assert_allclose(rows["onnx"][deep_cols], df[deep_cols], rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(rows["onnx"]["original_statistics_mean"], df["original_statistics_mean"])


def test_settings_and_errors(models, tmp_path):
    ts, onnx = models["fmap"]
    s = Settings(name="d", discretisation=Discretisation(method="fixed_bin_number", bin_number=8),
                 deep_features=_spec(ts, "torchscript"))
    assert Settings.model_validate(s.to_dict()) == s
    img, m = lesion_case(14)
    with pytest.raises(InputError, match="not found"):
        deep_embedding(img.array, m.array, img.spacing, _spec(tmp_path / "none.pt", "torchscript"))
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    with pytest.raises(InputError, match="TorchScript"):
        deep_embedding(img.array, m.array, img.spacing, _spec(bad, "torchscript"))
    with pytest.raises(InputError, match="no output"):
        deep_embedding(img.array, m.array, img.spacing, _spec(onnx, "onnx", output="nope"))
    # a family error is recorded, not raised, in batch mode
    fs = extract(img, m, s.replace(families=("statistics",), deep_features=_spec(bad, "torchscript")),
                 on_family_error="record")
    assert "original/deep" in fs.errors and fs.get("statistics", "mean") == fs.get("statistics", "mean")
