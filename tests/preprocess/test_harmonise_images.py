"""Image-level harmonisation: N4 bias-field correction, Nyul-Udupa standardisation, WhiteStripe, and the
``normalisation`` setting applied by the pipeline before resampling."""

from __future__ import annotations

import numpy as np
import pytest

from radiomix.errors import InputError, SettingsError
from radiomix.extract import extract
from radiomix.image import Image, Mask
from radiomix.preprocess.bias_field import n4_correct
from radiomix.preprocess.normalise import NyulStandardiser, apply_normalisation, whitestripe, zscore
from radiomix.settings import Discretisation, Normalisation, Settings, settings_from_dict


def _tissue(shape=(24, 48, 48), seed=0, radii=(0.45, 0.7, 0.85)):
    """Background 0, a 'brain' ellipsoid with CSF / GM / WM classes (T1-like: WM brightest)."""
    rng = np.random.default_rng(seed)
    z, y, x = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij")
    r = np.sqrt(z**2 + y**2 + x**2)
    labels = np.select([r < radii[0], r < radii[1], r < radii[2]], [3, 2, 1], 0)  # 3 WM, 2 GM, 1 CSF
    means = np.array([0.0, 30.0, 60.0, 100.0])
    img = means[labels] + np.where(labels > 0, rng.normal(0, 3.0, shape), 0.0)
    return img, labels


def test_n4_removes_a_known_bias_field():
    img, labels = _tissue()
    _, y, x = np.meshgrid(*[np.linspace(-1, 1, n) for n in img.shape], indexing="ij")
    field = np.exp(0.6 * x + 0.4 * y)  # smooth multiplicative bias, factor 0.37 .. 2.7 over the volume
    biased = Image.from_array(img * field, spacing=(2.0, 2.0, 2.0), source="biased")
    wm = labels == 3
    cv = lambda a: a[wm].std() / a[wm].mean()
    assert cv(img) < 0.035 and cv(biased.array) > 0.14
    # defaults: Otsu foreground, shrink 4 -> here 2 (a small volume), 4 levels of 50 iterations
    out = n4_correct(biased, shrink_factor=2)
    assert cv(out.array) < 0.5 * cv(biased.array)
    with pytest.raises(InputError, match="positive intensities"):
        n4_correct(Image.from_array(-np.ones((4, 8, 8))), otsu=False)


@pytest.mark.slow
def test_n4_full_resolution_recovers_the_field():
    img, labels = _tissue()
    _, y, x = np.meshgrid(*[np.linspace(-1, 1, n) for n in img.shape], indexing="ij")
    field = np.exp(0.6 * x + 0.4 * y)
    biased = Image.from_array(img * field, spacing=(2.0, 2.0, 2.0), source="biased")
    wm = labels == 3
    cv = lambda a: a[wm].std() / a[wm].mean()
    # fitted on the ROI at full resolution: back to the unbiased spread, and the field is the true one up to scale
    roi = Mask.from_array(labels > 0, spacing=(2.0, 2.0, 2.0))
    out, est = n4_correct(biased, roi, shrink_factor=1, return_field=True)
    assert cv(out.array) < 0.045
    ratio = est[labels > 0] / field[labels > 0]
    assert ratio.std() / ratio.mean() < 0.05


def test_nyul_maps_landmarks_of_shifted_scaled_images_onto_the_standard_scale(tmp_path):
    rng = np.random.default_rng(1)
    base, labels = _tissue(seed=1)
    fg = labels > 0
    cohort = [Image.from_array(a * base + b) for a, b in ((1.0, 0.0), (1.7, 40.0), (0.6, 300.0))]
    masks = [Mask.from_array(fg)] * 3
    nyul = NyulStandardiser().fit(cohort, masks)
    std = nyul.landmarks_
    assert std[0] == pytest.approx(0.0) and std[-1] == pytest.approx(100.0) and np.all(np.diff(std) > 0)
    new = Image.from_array(2.3 * base + 517.0 + rng.normal(0, 1e-6, base.shape))
    out = nyul.transform(new, Mask.from_array(fg))
    np.testing.assert_allclose(nyul.image_landmarks(out, fg), std, atol=0.05)
    # every affine copy lands on the same standard image
    ref = nyul.transform(cohort[0], masks[0]).array
    np.testing.assert_allclose(out.array[fg], ref[fg], atol=0.05)
    nyul.save(tmp_path / "lm.json")
    again = NyulStandardiser.load(tmp_path / "lm.json")
    np.testing.assert_allclose(again.landmarks_, std)
    with pytest.raises(InputError, match="not fitted"):
        NyulStandardiser().transform(new)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(InputError, match="bad.json: not a Nyul landmarks file"):
        NyulStandardiser.load(tmp_path / "bad.json")


def test_whitestripe_finds_the_white_matter_mode():
    img, labels = _tissue(seed=2)
    fg = labels > 0
    out, info = whitestripe(img, fg, contrast="t1")
    assert info["mode"] == pytest.approx(100.0, abs=2.0)
    assert abs(out[labels == 3].mean()) < 0.2  # white matter is centred on 0
    assert out[labels == 2].mean() < -5  # grey matter well below, in white-matter SD units
    # invariant to a linear change of scanner units
    out2, _ = whitestripe(3.0 * img + 50.0, fg, contrast="t1")
    np.testing.assert_allclose(out2[fg], out[fg], atol=0.05)
    # T2: white matter is darkest and the largest class; the largest peak is used
    _, lab2 = _tissue(seed=3, radii=(0.65, 0.78, 0.85))
    t2 = np.select([lab2 == 3, lab2 == 2, lab2 == 1], [40.0, 70.0, 150.0], 0.0) + \
        np.where(lab2 > 0, np.random.default_rng(3).normal(0, 3.0, img.shape), 0.0)
    _, info2 = whitestripe(t2, lab2 > 0, contrast="t2")
    assert info2["mode"] == pytest.approx(40.0, abs=2.0)


def test_normalisation_setting_is_applied_before_resampling(tmp_path):
    img, labels = _tissue(seed=4)
    image = Image.from_array(img * 3.0 + 7.0, spacing=(2.0, 2.0, 2.0))
    mask = Mask.from_array(labels == 3, spacing=(2.0, 2.0, 2.0))
    base = Settings(families=("statistics",), discretisation=Discretisation(method="fixed_bin_number", bin_number=8))
    s = base.replace(normalisation={"method": "zscore", "region": "roi"})
    manual = image.with_array(zscore(image.array, mask.array))
    assert extract(image, mask, s).to_dict() == pytest.approx(extract(manual, mask, base).to_dict())
    assert s.digest() != base.digest()  # the setting is in the provenance digest
    # nyul through a landmarks file, and N4 + whitestripe, run through the pipeline
    NyulStandardiser().fit([image], [Mask.from_array(labels > 0, spacing=(2.0, 2.0, 2.0))]).save(tmp_path / "l.json")
    fs = extract(image, mask, base.replace(normalisation={"method": "nyul", "landmarks_file": str(tmp_path / "l.json")}))
    assert 0 < fs.get("statistics", "mean") <= 110
    n4ws = Normalisation(method="whitestripe", bias_field="n4", n4_shrink_factor=2, n4_iterations=(20, 20))
    ws = apply_normalisation(image, mask, n4ws).array
    assert abs(ws[labels == 3].mean()) < 0.5 and ws[labels == 2].mean() < -5


def test_normalisation_settings_are_validated():
    with pytest.raises(SettingsError, match="landmarks_file"):
        settings_from_dict({"discretisation": {"method": "none"}, "normalisation": {"method": "nyul"}})
    with pytest.raises(SettingsError, match="give a method, a bias_field"):
        settings_from_dict({"discretisation": {"method": "none"}, "normalisation": {}})
    s = settings_from_dict({"discretisation": {"method": "none"}, "normalisation": {"bias_field": "n4"}})
    assert s.normalisation.method is None and s.normalisation.n4_mask == "otsu"
