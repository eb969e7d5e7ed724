"""Compressed transfer syntaxes: an RLE Lossless series (pydicom encodes RLE natively) reads exactly like the
uncompressed one; JPEG 2000 Lossless and JPEG Lossless when the optional ``dicom-codecs`` extra is installed; a
clear error when the data cannot be decoded."""

from __future__ import annotations

import importlib.util

import numpy as np
import pydicom
import pytest
from pydicom.uid import JPEG2000Lossless, JPEGLosslessSV1, RLELossless

from radiomix.errors import InputError
from radiomix.io import read_image
from tests.io.dicom_factory import write_series


def _series(tmp_path):
    rng = np.random.default_rng(3)
    stored = rng.integers(-1024, 2000, (5, 40, 48)).astype(np.int16)  # J2K: tiles of 32+
    stored[:, :4] = -1024  # runs of equal values, as RLE likes them
    info = write_series(tmp_path / "plain", stored, spacing=(2.5, 0.7, 0.7), intercepts=[-1024.0] * 5,
                        slopes=[1.0] * 5)
    return stored, info


def _compress_copy(info, folder, syntax, **kwargs):
    folder.mkdir()
    for p in info["paths"]:
        ds = pydicom.dcmread(p)
        ds.compress(syntax, **kwargs)
        ds.save_as(folder / p.name, enforce_file_format=True)
    return folder


def test_rle_lossless_series_matches_the_uncompressed_one(tmp_path):
    stored, info = _series(tmp_path)
    rle = _compress_copy(info, tmp_path / "rle", RLELossless)
    assert pydicom.dcmread(next(rle.iterdir()), stop_before_pixels=True).file_meta.TransferSyntaxUID == RLELossless
    plain, packed = read_image(tmp_path / "plain"), read_image(rle)
    np.testing.assert_array_equal(packed.array, plain.array)
    np.testing.assert_array_equal(plain.array, stored.astype(np.int32) - 1024)
    assert packed.geometry.differences(plain.geometry) == [] and packed.array.dtype == plain.array.dtype


@pytest.mark.skipif(importlib.util.find_spec("openjpeg") is None,
                    reason="JPEG 2000 needs the optional extra: pip install 'radiomix[dicom-codecs]'")
def test_jpeg2000_lossless_series_matches_the_uncompressed_one(tmp_path):
    _, info = _series(tmp_path)
    j2k = _compress_copy(info, tmp_path / "j2k", JPEG2000Lossless)
    np.testing.assert_array_equal(read_image(j2k).array, read_image(tmp_path / "plain").array)


@pytest.mark.skipif(importlib.util.find_spec("gdcm") is None,
                    reason="JPEG Lossless needs the optional extra: pip install 'radiomix[dicom-codecs]'")
def test_jpeg_lossless_series_written_by_gdcm_matches_the_uncompressed_one(tmp_path):
    import gdcm

    _, info = _series(tmp_path)
    (tmp_path / "jpeg").mkdir()
    for p in info["paths"]:  # pydicom has no JPEG Lossless encoder; GDCM (the decoder of the extra) has one
        reader = gdcm.ImageReader()
        reader.SetFileName(str(p))
        assert reader.Read()
        change = gdcm.ImageChangeTransferSyntax()
        change.SetTransferSyntax(gdcm.TransferSyntax(gdcm.TransferSyntax.JPEGLosslessProcess14_1))
        change.SetInput(reader.GetImage())
        assert change.Change()
        writer = gdcm.ImageWriter()
        writer.SetFile(reader.GetFile())
        writer.SetImage(change.GetOutput())
        writer.SetFileName(str(tmp_path / "jpeg" / p.name))
        assert writer.Write()
    ts = pydicom.dcmread(tmp_path / "jpeg" / "img_000", stop_before_pixels=True).file_meta.TransferSyntaxUID
    assert ts == JPEGLosslessSV1
    np.testing.assert_array_equal(read_image(tmp_path / "jpeg").array, read_image(tmp_path / "plain").array)


def test_a_missing_decoder_is_an_error_naming_the_file(tmp_path):
    _, info = _series(tmp_path)
    folder = tmp_path / "fake"
    folder.mkdir()
    for p in info["paths"]:  # JPEG 2000 labels over bytes no decoder can read
        ds = pydicom.dcmread(p)
        ds.file_meta.TransferSyntaxUID = JPEG2000Lossless
        ds.PixelData = pydicom.encaps.encapsulate([b"\x00" * 64])
        ds["PixelData"].VR = "OB"
        ds.save_as(folder / p.name, enforce_file_format=True)
    with pytest.raises(InputError, match=r"fake/img_\d+: cannot read the pixel data .*compressed transfer syntax"):
        read_image(folder)
