"""`radiomix segment box|grow|ring|metrics|regions` through the real CLI; and everything non-deep without torch."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
from typer.testing import CliRunner

from radiomix.cli import app
from radiomix.io import read_mask, write_image, write_mask
from radiomix.segment import dice, ring_mask

from .synthetic import lesion_case

runner = CliRunner()


def _files(tmp_path):
    img, m = lesion_case(5)
    ip, mp = write_image(img, tmp_path / "img.nii.gz"), write_mask(m, tmp_path / "gtv.nii.gz")
    return img, m, ip, mp


def test_segment_box_grow_ring_metrics(tmp_path):
    img, m, ip, mp = _files(tmp_path)
    # box from voxel corners, and around the mask
    r = runner.invoke(app, ["segment", "box", str(ip), "--corner", "2,3,4", "--corner", "10,12,8", "--voxel",
                            "--out", str(tmp_path / "box.nii.gz")])
    assert r.exit_code == 0, r.output
    assert read_mask(tmp_path / "box.nii.gz").n_voxels == 9 * 10 * 5
    r = runner.invoke(app, ["segment", "box", str(ip), "--around", str(mp), "--margin-mm", "2",
                            "--out", str(tmp_path / "box2.nii.gz")])
    assert r.exit_code == 0, r.output
    assert (read_mask(tmp_path / "box2.nii.gz").array >= m.array).all()
    # grow from the lesion's centre voxel (as a physical point), window around the lesion's intensities
    c = np.argwhere(m.array).mean(0).round().astype(int)
    while not m.array[tuple(c)]:
        c[2] += 1
    x, y, z = img.geometry.index_to_physical(c)
    r = runner.invoke(app, ["segment", "grow", str(ip), "--seed", f"{x},{y},{z}", "--lower", "45",
                            "--opening-mm", "2", "--max-radius-mm", "40", "--out", str(tmp_path / "grow.nii.gz")])
    assert r.exit_code == 0, r.output
    grown = read_mask(tmp_path / "grow.nii.gz")
    assert grown.geometry.differences(img.geometry) == []
    assert dice(m, grown) > 0.7
    # ring, then metrics of the grown mask against the truth
    r = runner.invoke(app, ["segment", "ring", str(ip), str(mp), "--outer-mm", "4", "--inner-mm", "1",
                            "--out", str(tmp_path / "ring.nii.gz")])
    assert r.exit_code == 0, r.output
    assert np.array_equal(read_mask(tmp_path / "ring.nii.gz").array, ring_mask(m, 4, 1).array)
    r = runner.invoke(app, ["segment", "metrics", str(mp), str(tmp_path / "grow.nii.gz"),
                            "--json", str(tmp_path / "m.json")])
    assert r.exit_code == 0, r.output
    assert "hd95_mm" in r.output and (tmp_path / "m.json").exists()


def test_segment_regions_table(tmp_path):
    _, _, ip, mp = _files(tmp_path)
    settings = tmp_path / "s.yaml"
    settings.write_text("families: [statistics]\ndiscretisation: {method: fixed_bin_number, bin_number: 8}\n")
    r = runner.invoke(app, ["segment", "regions", str(ip), str(mp), "--ring-mm", "3", "--ring-mm", "6",
                            "--settings", str(settings), "--out", str(tmp_path / "r.csv")])
    assert r.exit_code == 0, r.output
    header = (tmp_path / "r.csv").read_text().splitlines()[0]
    for region in ("intratumoral", "peritumoral_3mm", "peritumoral_6mm"):
        assert f"{region}__original_statistics_mean" in header


BLOCK_TORCH = """
import sys
for name in ("torch", "monai", "onnxruntime", "onnx"):
    sys.modules[name] = None  # `import torch` now raises ImportError
import radiomix.segment, radiomix.cli
from typer.testing import CliRunner
assert not any(sys.modules.get(n) for n in ("torch", "monai", "onnxruntime"))
ip, mp, out = sys.argv[1:4]
runner = CliRunner()
for args in (["ring", ip, mp, "--outer-mm", "3", "--out", out + "/ring.nii.gz"],
             ["grow", ip, "--seed", "5,5,5", "--voxel", "--lower", "-1000", "--max-radius-mm", "5",
              "--out", out + "/g.nii.gz"],
             ["box", ip, "--around", mp, "--out", out + "/b.nii.gz"],
             ["metrics", mp, out + "/ring.nii.gz"]):
    r = runner.invoke(radiomix.cli.app, ["segment", *args])
    assert r.exit_code == 0, (args, r.output, r.exception)
    print(r.output)
r = runner.invoke(radiomix.cli.app, ["segment", "predict", ip, "--model", out, "--out", out + "/p.nii.gz"])
print("PREDICT:", type(r.exception).__name__, r.exception)
assert not any(sys.modules.get(n) for n in ("torch", "monai", "onnxruntime"))
"""


def test_everything_but_deep_works_without_torch(tmp_path):
    _, m, ip, mp = _files(tmp_path)
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(BLOCK_TORCH), str(ip), str(mp), str(tmp_path)], check=False,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert read_mask(tmp_path / "ring.nii.gz").n_voxels == ring_mask(m, 3).n_voxels
    assert "dice\t0" in r.stdout and (tmp_path / "g.nii.gz").exists() and (tmp_path / "b.nii.gz").exists()
    # the deep commands fail with an InputError (printed by radiomix.cli.main as one line) naming the extra
    assert "PREDICT: InputError" in r.stdout and "pip install radiomix[deep]" in r.stdout


def test_cli_errors_are_one_line(tmp_path):
    _, _, ip, _ = _files(tmp_path)
    r = subprocess.run([sys.executable, "-m", "radiomix.cli", "segment", "box", str(ip), "--corner", "1,2,3",
                        "--out", str(tmp_path / "b.nii.gz")], check=False, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 2 and r.stderr.startswith("error:") and "two --corner" in r.stderr
