import pytest
from pydantic import ValidationError

from radiomix.errors import SettingsError
from radiomix.settings import PRESETS, Settings, load_settings, preset, settings_from_dict


def test_presets_roundtrip_yaml_and_hash(tmp_path):
    for name, s in PRESETS.items():
        p = tmp_path / f"{name}.yaml"
        s.to_yaml(p)
        back = load_settings(p)
        assert back == s and back.digest() == s.digest() and hash(back) == hash(s)
    assert len({s.digest() for s in PRESETS.values()}) == len(PRESETS)


def test_unknown_key_is_named(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("discretisation: {method: fixed_bin_size, bin_width: 25}\nresampling_typo: 1\n")
    with pytest.raises(SettingsError, match=r"s\.yaml: invalid settings: unknown key 'resampling_typo'"):
        load_settings(p)
    p.write_text("discretisation: {method: fixed_bin_size, bin_wdth: 25}\n")
    with pytest.raises(SettingsError, match=r"unknown key 'discretisation.bin_wdth'"):
        load_settings(p)


def test_impossible_values_are_named():
    with pytest.raises(SettingsError, match=r"'discretisation.bin_width'.*greater than 0"):
        settings_from_dict({"discretisation": {"method": "fixed_bin_size", "bin_width": -1}})
    with pytest.raises(SettingsError, match="fixed_bin_number needs bin_number"):
        settings_from_dict({"discretisation": {"method": "fixed_bin_number"}})
    with pytest.raises(SettingsError, match="missing required key 'discretisation'"):
        settings_from_dict({})
    with pytest.raises(SettingsError, match=r"'resegmentation.range'.*above high"):
        settings_from_dict({"discretisation": {"method": "none"}, "resegmentation": {"range": [400, -500]}})
    with pytest.raises(SettingsError, match="version 7 is not supported"):
        settings_from_dict({"version": 7, "discretisation": {"method": "none"}})
    with pytest.raises(SettingsError, match="not valid YAML|mapping"):
        settings_from_dict([1, 2])


def test_settings_are_frozen_and_replace_validates():
    s = preset("ibsi_config_c")
    with pytest.raises(ValidationError, match="frozen"):
        s.name = "x"
    t = s.replace(discretisation={"method": "fixed_bin_number", "bin_number": 16})
    assert t.discretisation.bin_number == 16 and s.discretisation.bin_width == 25
    assert t.digest() != s.digest()
    with pytest.raises(SettingsError, match="unknown preset 'ibsi_config_z'"):
        preset("ibsi_config_z")


def test_missing_settings_file(tmp_path):
    with pytest.raises(SettingsError, match="settings file not found"):
        load_settings(tmp_path / "none.yaml")


def test_ibsi_presets_match_configuration_table():
    assert preset("ibsi_config_b").resampling.spacing_mm == (2.0, 2.0, None)
    assert preset("ibsi_config_d").resegmentation.outlier_sd == 3.0
    assert preset("ibsi_config_e").resampling.interpolator == "cubic"
    assert preset("ibsi_config_e").ivh.discretisation.bin_number == 1000
    assert isinstance(preset("ibsi_dig"), Settings)


def test_digest_follows_the_content_of_referenced_files(tmp_path):
    from radiomix.settings import Normalisation

    lm = tmp_path / "landmarks.json"
    lm.write_text('{"landmarks": [0, 1, 2]}')
    from radiomix.settings import Discretisation

    disc = Discretisation(method="fixed_bin_number", bin_number=16)
    s = Settings(discretisation=disc, normalisation=Normalisation(method="nyul", landmarks_file=str(lm)))
    first = s.digest()
    assert s.digest() == first  # stable
    lm.write_text('{"landmarks": [0, 1, 3]}')  # same path, new content
    import os

    os.utime(lm, ns=(1, 1))  # even with an unhelpful timestamp, the size/mtime key changes
    assert s.digest() != first
    missing = Settings(discretisation=disc, normalisation=Normalisation(method="nyul", landmarks_file=str(tmp_path / "none.json")))
    assert len(missing.digest()) == 16
