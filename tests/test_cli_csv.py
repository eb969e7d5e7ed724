"""`radiomix extract --out x.csv` writes wide rows without pandas (cli.write_wide_csv): byte for byte what
``pandas.DataFrame(rows).to_csv(index=False, float_format="%.10g")`` writes, or it leaves the rows to pandas."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from radiomix.cli import write_wide_csv
from radiomix.extract import extract, extract_lesions
from radiomix.phantoms import lesion_phantom
from radiomix.settings import Discretisation, Lesions, Settings

SETTINGS = Settings(name="t", discretisation=Discretisation(method="fixed_bin_size", bin_width=25.0))


def _pandas_bytes(rows, path):
    pd.DataFrame(rows).to_csv(path, index=False, float_format="%.10g")
    return path.read_bytes()


def _same_as_pandas(rows, tmp_path):
    assert write_wide_csv(rows, tmp_path / "fast.csv")
    assert (tmp_path / "fast.csv").read_bytes() == _pandas_bytes(rows, tmp_path / "pandas.csv")


def test_feature_rows_as_pandas_writes_them(tmp_path):
    img, mask = lesion_phantom(shape=(20, 40, 40), seed=3)
    fs = extract(img, mask, SETTINGS)
    _same_as_pandas([{**fs.lesion, **fs.to_dict()}], tmp_path)
    # per lesion: integer, float and text columns before the features
    two = mask.array.copy()
    two[:, :, :6] = 0
    two[2:5, 2:5, 1:4] = 1
    sets = extract_lesions(img, type(mask)(two, mask.geometry),
                           SETTINGS.replace(lesions=Lesions(mode="per_lesion")))
    assert len(sets) == 2
    _same_as_pandas([{**s.lesion, **s.to_dict()} for s in sets], tmp_path)


def test_awkward_values_as_pandas_writes_them(tmp_path):
    rows = [{"a,b": 1.0 / 3.0, "n": 7, "s": 'he said "x", then y', "f": math.nan, "g": -0.0, "h": True,
             "big": 123456789012345, "i": math.inf, "e": "", "t": 1e-300},
            {"a,b": 2.0, "n": np.int64(-3), "s": "line\nbreak", "f": 1.5, "g": -math.inf, "h": False,
             "big": 1, "i": 12345678901.0, "e": "x", "t": 5e300}]
    _same_as_pandas(rows, tmp_path)


@pytest.mark.parametrize("rows", [
    [{"a": 1, "b": 2.0}, {"b": 2.0, "a": 1}],  # keys in another order
    [{"a": 1}, {"a": 1, "b": 2.0}],  # a key missing in a row
    [{"a": 1}, {"a": 2.5}],  # ints and floats in one column (pandas: float)
    [{"a": None}],
    [{"a": np.bool_(True)}],
    [],
])
def test_rows_pandas_would_convert_are_left_to_it(rows, tmp_path):
    assert not write_wide_csv(rows, tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


def test_cli_extract_to_csv_loads_no_pandas(tmp_path):
    from radiomix.io import write_image, write_mask

    img, mask = lesion_phantom(shape=(20, 40, 40), seed=3)
    write_image(img, tmp_path / "img.nii.gz")
    write_mask(mask, tmp_path / "mask.nii.gz")
    (tmp_path / "s.yaml").write_text("name: t\ndiscretisation:\n  method: fixed_bin_size\n  bin_width: 25\n")
    code = ("import sys\nfrom radiomix.cli import app\n"
            "try:\n    app(sys.argv[1:])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "print('pandas' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code, "extract", str(tmp_path / "img.nii.gz"),
                          str(tmp_path / "mask.nii.gz"), "--settings", str(tmp_path / "s.yaml"), "--out",
                          str(tmp_path / "f.csv")], capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False"
    fs = extract(img, mask, SETTINGS)
    written = pd.read_csv(tmp_path / "f.csv")
    assert list(written.columns) == list(fs.to_dict())
    np.testing.assert_allclose(written.iloc[0].to_numpy(float), list(fs.to_dict().values()), rtol=1e-9)
