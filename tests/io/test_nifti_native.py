"""The native NIfTI-1 reader (radiomix.io.nifti) against SimpleITK: for every file it accepts, the array and the
geometry must equal what SimpleITK gives, bit for bit; everything else must give None (SimpleITK then reads it)."""

from __future__ import annotations

import gzip
import itertools
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from radiomix.errors import InputError
from radiomix.io import nifti
from radiomix.io.itk import check_nifti_complete, geometry_from_sitk
from radiomix.io.nifti import read_nifti

sitk.ProcessObject_SetGlobalWarningDisplay(False)  # crafted sforms make ITK warn about "unexpected scales"

_NIFTI_CODE = {
    np.uint8: 2, np.int16: 4, np.int32: 8, np.float32: 16, np.float64: 64, np.int8: 256, np.uint16: 512,
    np.uint32: 768, np.int64: 1024, np.uint64: 1280,
}


@pytest.fixture(params=["libdeflate", "zlib"])
def inflate(request, monkeypatch):
    """Run a test with each gzip inflater: libdeflate (when the system has it) and the zlib streaming path."""
    if request.param == "zlib":
        monkeypatch.setattr(nifti, "_LIBDEFLATE", False)
    elif not nifti._load_libdeflate():
        pytest.skip("libdeflate is not installed here")
    return request.param


# ----------------------------------------------------------------------------------------------------------- helpers


def write_nifti(path: Path, data, *, endian="<", dims=None, pixdim=(1.0, 1.0, 1.0), qfac=1.0, qcode=0, scode=0,
                quat=(0.0,) * 6, srows=(0.0,) * 12, slope=0.0, inter=0.0, units=10, intent=0, vox_offset=352,
                datatype=None, bitpix=None, magic=b"n+1\x00", extension=b"", trailing=b"") -> Path:
    """A NIfTI-1 single file from a (z, y, x) array and raw header fields; gzip-compressed when the name ends .gz."""
    data = np.asarray(data)
    if dims is None:
        dims = (data.ndim, *data.shape[::-1])
    dims = tuple(dims) + (1,) * (8 - len(dims))
    pix = (qfac, *pixdim) + (0.0,) * (7 - len(pixdim))
    h = bytearray(348)
    struct.pack_into(endian + "i", h, 0, 348)
    struct.pack_into(endian + "8h", h, 40, *dims)
    struct.pack_into(endian + "3h", h, 68, intent, _NIFTI_CODE[data.dtype.type] if datatype is None else datatype,
                     data.dtype.itemsize * 8 if bitpix is None else bitpix)
    struct.pack_into(endian + "8f", h, 76, *pix)
    struct.pack_into(endian + "3f", h, 108, vox_offset, slope, inter)
    h[123] = units
    struct.pack_into(endian + "2h", h, 252, qcode, scode)
    struct.pack_into(endian + "6f", h, 256, *quat)
    struct.pack_into(endian + "12f", h, 280, *srows)
    h[344:348] = magic
    head = bytes(h) + extension
    head += b"\0" * (int(vox_offset) - len(head))
    blob = head + data.astype(data.dtype.newbyteorder(endian)).tobytes() + trailing
    path.write_bytes(gzip.compress(blob, 1) if path.name.endswith(".gz") else blob)
    return path


def sitk_reference(path: Path):
    img = sitk.ReadImage(str(path))
    array = sitk.GetArrayFromImage(img)
    if array.ndim == 2:
        array = array[np.newaxis]
    return array, geometry_from_sitk(img)


def check_against_sitk(path: Path, *, must_accept: bool = False) -> bool:
    """read_nifti gives None (allowed unless must_accept) or exactly SimpleITK's result. Returns whether accepted."""
    got = read_nifti(path, "image")
    if got is None:
        assert not must_accept, f"{path.name}: read_nifti declined a file it should read"
        return False
    array, geom = got
    ref_array, ref_geom = sitk_reference(path)
    assert array.dtype == ref_array.dtype
    assert array.shape == ref_array.shape == geom.shape
    assert array.flags.c_contiguous and array.flags.writeable and array.dtype.isnative
    assert np.array_equal(array, ref_array), f"{path.name}: voxel values differ"
    assert geom.shape == ref_geom.shape
    assert geom.spacing == ref_geom.spacing
    assert geom.origin == ref_geom.origin
    assert np.array_equal(geom.direction, ref_geom.direction), np.abs(geom.direction - ref_geom.direction).max()
    return True


def random_rotation(rng, improper=False) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q @ np.diag(np.sign(np.diag(r)))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    if improper:
        q[:, 2] *= -1
    return q


def quaternion(rot: np.ndarray) -> tuple[float, float, float]:
    """(b, c, d) of a proper rotation, a >= 0 (Shepperd's method)."""
    m = rot
    t = np.trace(m)
    if t > 0:
        s = 2 * np.sqrt(1 + t)
        return (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s
    i = int(np.argmax(np.diag(m)))
    j, k = (i + 1) % 3, (i + 2) % 3
    s = 2 * np.sqrt(1 + m[i, i] - m[j, j] - m[k, k])
    v = np.empty(3)
    v[i] = s / 4
    v[j] = (m[j, i] + m[i, j]) / s
    v[k] = (m[k, i] + m[i, k]) / s
    a = (m[k, j] - m[j, k]) / s
    return tuple(-v if a < 0 else v)


# ------------------------------------------------------------------------------------------ files SimpleITK writes

SITK_TYPES = [sitk.sitkUInt8, sitk.sitkInt8, sitk.sitkUInt16, sitk.sitkInt16, sitk.sitkUInt32, sitk.sitkInt32,
              sitk.sitkInt64, sitk.sitkUInt64, sitk.sitkFloat32, sitk.sitkFloat64]


@pytest.mark.parametrize("pixel_type", SITK_TYPES, ids=lambda t: sitk.GetPixelIDValueAsString(t))
def test_files_written_by_simpleitk_are_read_exactly(tmp_path, pixel_type):
    rng = np.random.default_rng(pixel_type)
    directions3 = [np.eye(3), random_rotation(rng), random_rotation(rng, improper=True), random_rotation(rng),
                   np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0.0]]), np.diag([1.0, -1.0, -1.0])]
    for k, direction in enumerate(directions3):
        img = sitk.Cast(sitk.GetImageFromArray(rng.normal(0, 60, (3, 4, 5))), pixel_type)
        img.SetSpacing((1.0, 1.0, 1.0) if k % 2 else tuple(rng.uniform(0.3, 4, 3)))
        img.SetOrigin(tuple(rng.uniform(-250, 250, 3)))
        img.SetDirection(tuple(direction.ravel()))
        path = tmp_path / f"im3d_{k}.nii{'.gz' if k % 2 else ''}"
        sitk.WriteImage(img, str(path))
        assert check_against_sitk(path, must_accept=True)
    for k, theta in enumerate(rng.uniform(0, 2 * np.pi, 3)):
        d = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
        if k == 1:
            d[:, 1] *= -1  # improper
        img = sitk.Cast(sitk.GetImageFromArray(rng.normal(0, 60, (4, 6))), pixel_type)
        img.SetSpacing(tuple(rng.uniform(0.3, 4, 2)) if k else (1.0, 1.0))
        img.SetOrigin(tuple(rng.uniform(-250, 250, 2)))
        img.SetDirection(tuple(d.ravel()))
        path = tmp_path / f"im2d_{k}.nii{'.gz' if k % 2 else ''}"
        sitk.WriteImage(img, str(path))
        assert check_against_sitk(path, must_accept=True)
        assert read_nifti(path, "image")[0].shape == (1, 4, 6)


def test_simpleitk_writes_scanner_anat_qform_and_sform(tmp_path):
    """The common case the reader is built around: SimpleITK sets qform_code = sform_code = 1 (SCANNER_ANAT)."""
    img = sitk.GetImageFromArray(np.zeros((2, 3, 4), np.int16))
    path = tmp_path / "codes.nii"
    sitk.WriteImage(img, str(path))
    assert struct.unpack("<2h", path.read_bytes()[252:256]) == (1, 1)


def test_large_gzip_file_both_inflaters(tmp_path, inflate):
    rng = np.random.default_rng(1)
    img = sitk.GetImageFromArray(rng.integers(-1024, 3000, (20, 64, 96), dtype=np.int16))
    img.SetSpacing((0.7, 0.8, 2.5))
    img.SetOrigin((-100.5, 20.25, 7.0))
    img.SetDirection(tuple(random_rotation(rng).ravel()))
    path = tmp_path / "big.nii.gz"
    sitk.WriteImage(img, str(path))
    assert check_against_sitk(path, must_accept=True)


# ----------------------------------------------------------------------------------------------- crafted geometries


def _geometry_case(case: str, rng) -> dict:
    """Header fields for one class of qform/sform combination."""
    pix = tuple(float(np.float32(p)) for p in rng.uniform(0.3, 3.0, 3))
    improper = case in ("qform_qfac", "both_improper")
    rot = random_rotation(rng, improper=improper)
    proper = rot.copy()
    if improper:
        proper[:, 2] *= -1
    offset = rng.uniform(-200, 200, 3)
    quat = (*quaternion(proper), *offset)
    affine = np.concatenate([rot * pix, offset[:, None]], axis=1)
    kw = {"pixdim": pix, "quat": quat, "qfac": -1.0 if improper else 1.0}

    def sform(matrix):
        return tuple(np.asarray(matrix).ravel())

    if case in ("qform", "qform_qfac"):
        kw.update(qcode=int(rng.integers(1, 5)))
    elif case == "qform_180":  # a = 0: niftilib's special case (ITK's identity direction is this one in RAS)
        kw.update(qcode=1, quat=(0.0, 0.0, 1.0, *offset))
    elif case == "sform":
        kw.update(scode=int(rng.integers(1, 5)), srows=sform(affine))
    elif case == "neither":
        kw.update(srows=sform(affine))
    elif case in ("both_scanner", "both_improper"):
        kw.update(qcode=int(rng.integers(1, 5)), scode=1, srows=sform(affine))
    elif case == "both_aligned":  # sform_code 2 and a consistent qform: ITK's choice is not reproducible -> None
        kw.update(qcode=1, scode=2, srows=sform(affine))
    elif case == "both_exact":  # sform holds exactly niftilib's qform matrix: either choice is the same
        m = nifti._qform_matrix([float(np.float32(v)) for v in quat], [1.0, *pix])
        kw.update(qcode=1, scode=int(rng.integers(1, 5)), srows=sform(m[:3]))
    elif case == "inconsistent_rotation":
        other = np.concatenate([random_rotation(rng) * pix, offset[:, None]], axis=1)
        kw.update(qcode=int(rng.integers(1, 5)), scode=int(rng.integers(1, 5)), srows=sform(other))
    elif case == "inconsistent_offset":
        moved = affine.copy()
        moved[:, 3] += rng.uniform(1, 5, 3)
        kw.update(qcode=int(rng.integers(1, 5)), scode=int(rng.integers(1, 5)), srows=sform(moved))
    elif case == "shear":
        sheared = affine.copy()
        sheared[0, 1] += 0.3
        kw.update(qcode=int(rng.integers(0, 5)), scode=int(rng.integers(1, 5)), srows=sform(sheared))
    elif case == "scaled":  # columns norms differ from pixdim
        scaled = affine.copy()
        scaled[:, :3] *= rng.uniform(0.5, 2.0, 3)
        kw.update(qcode=int(rng.integers(0, 5)), scode=int(rng.integers(1, 5)), srows=sform(scaled))
    else:  # pragma: no cover
        raise AssertionError(case)
    return kw


ALWAYS_ACCEPTED = {"qform", "qform_qfac", "qform_180", "sform", "neither", "both_scanner", "both_improper",
                   "both_exact", "inconsistent_offset"}
GEOMETRY_CASES = sorted(ALWAYS_ACCEPTED | {"both_aligned", "inconsistent_rotation", "shear", "scaled"})


@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize("case", GEOMETRY_CASES)
def test_crafted_qform_sform_headers(tmp_path, case, endian):
    rng = np.random.default_rng(zlib.crc32(f"{case}{endian}".encode()))
    data = rng.integers(-500, 500, (3, 4, 5)).astype(np.int16)
    accepted = 0
    for k in range(6):
        kw = _geometry_case(case, rng)
        path = write_nifti(tmp_path / f"{case}_{k}.nii{'.gz' if k % 2 else ''}", data, endian=endian, **kw)
        if case == "shear" and kw["qcode"] == 0:
            with pytest.raises(RuntimeError):  # ITK refuses a skewed sform without a qform ...
                sitk.ReadImage(str(path))
            assert read_nifti(path, "image") is None  # ... so the native reader leaves it to SimpleITK
            continue
        accepted += check_against_sitk(path, must_accept=case in ALWAYS_ACCEPTED)
    if case == "both_aligned":
        assert accepted == 0


@pytest.mark.parametrize("translation_shift", [0.0, 3e-8, 1e-6])
def test_skewed_sform_close_to_the_qform(tmp_path, translation_shift):
    """Tiny voxels: a skewed sform (not decomposable) within 1e-5 of the qform is taken when the translations agree
    to 1e-7 (ITK's "similar" test), the qform otherwise."""
    rng = np.random.default_rng(int(translation_shift * 1e9))
    pix = (0.002, 0.0025, 0.003)
    for k in range(4):
        quat = (*quaternion(random_rotation(rng)), *rng.uniform(-0.05, 0.05, 3))
        quat = tuple(float(np.float32(v)) for v in quat)
        s = nifti._qform_matrix(quat, [1.0, *pix])[:3].astype(np.float64)
        s[k % 3, (k + 1) % 3] += 8e-6  # a skew of ~3e-3 relative: not decomposable for ITK
        s[k % 3, 3] += translation_shift
        path = write_nifti(tmp_path / f"skew{k}.nii", np.zeros((2, 3, 4), np.uint8), pixdim=pix, qcode=1, scode=1,
                           quat=quat, srows=tuple(s.ravel()))
        assert check_against_sitk(path, must_accept=True)


def test_crafted_2d_headers(tmp_path):
    rng = np.random.default_rng(5)
    data = rng.integers(0, 255, (4, 6)).astype(np.uint8)
    for k in range(8):
        kw = _geometry_case(["qform", "sform", "both_scanner", "neither"][k % 4], rng)
        path = write_nifti(tmp_path / f"flat{k}.nii", data, endian="<>"[k % 2], **kw)
        check_against_sitk(path)


# -------------------------------------------------------------------------------------------- values and scaling

DTYPES = [np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.int64, np.uint64, np.float32, np.float64]
SCALINGS = [(0.0, 0.0), (1.0, 0.0), (2.5, 0.0), (1.0, -1024.0), (0.1, 0.3), (-1.5, 7.25), (0.0, 5.0)]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: np.dtype(t).name)
def test_datatypes_byte_orders_and_scl_slope(tmp_path, dtype):
    rng = np.random.default_rng(np.dtype(dtype).num)
    if np.dtype(dtype).kind == "f":
        data = rng.normal(0, 1e3, (3, 4, 5)).astype(dtype)
    else:
        info = np.iinfo(dtype)
        data = rng.integers(info.min, info.max, (3, 4, 5), dtype=dtype, endpoint=True)
    for k, (slope, inter) in enumerate(SCALINGS):
        for endian in "<>":
            path = write_nifti(tmp_path / f"v{k}{endian == '>'}.nii{'.gz' if k % 2 else ''}", data, endian=endian,
                               slope=slope, inter=inter, qcode=1, quat=(0.1, -0.2, 0.3, 5.0, -6.0, 7.0))
            assert check_against_sitk(path, must_accept=True)
            array = read_nifti(path, "image")[0]
            rescaled = slope not in (0.0, 1.0) or inter != 0.0
            expected = (np.float64 if dtype is np.float64 else np.float32) if rescaled else dtype
            assert array.dtype == expected


def test_nan_and_infinite_floats_become_zero_like_itk(tmp_path):
    data = np.array([[[np.nan, np.inf, -np.inf, 1.5, -0.0]]], np.float32)
    for endian in "<>":
        path = write_nifti(tmp_path / f"nan{endian == '>'}.nii.gz", data, endian=endian)
        assert check_against_sitk(path, must_accept=True)
        assert read_nifti(path, "image")[0].tolist() == [[[0.0, 0.0, 0.0, 1.5, -0.0]]]


def test_dimension_rules(tmp_path):
    rng = np.random.default_rng(2)
    vol = rng.integers(0, 100, (3, 4, 5)).astype(np.int16)
    accepted = [
        ("nz1", vol[:1], None),
        ("plane", vol[0], None),
        ("t1", vol, (4, 5, 4, 3, 1)),
        ("t1u1", vol, (5, 5, 4, 3, 1, 1)),
        ("dim7", vol, (7, 5, 4, 3, 1, 1, 1, 1)),
        ("junk_above_dim0", vol, (3, 5, 4, 3, 7, 0, -2, 9)),
    ]
    for name, data, dims in accepted:
        assert check_against_sitk(write_nifti(tmp_path / f"{name}.nii", data, dims=dims), must_accept=True)
    assert read_nifti(tmp_path / "nz1.nii", "image")[0].shape == (1, 4, 5)
    assert read_nifti(tmp_path / "plane.nii", "image")[1].spacing == (1.0, 1.0, 1.0)
    twice = np.concatenate([vol, vol])
    assert read_nifti(write_nifti(tmp_path / "t2.nii", twice, dims=(4, 5, 4, 3, 2)), "image") is None
    assert read_nifti(write_nifti(tmp_path / "u2.nii", twice, dims=(5, 5, 4, 3, 1, 2)), "image") is None
    assert read_nifti(write_nifti(tmp_path / "line.nii", vol[0, 0], dims=(1, 5)), "image") is None


def test_units_intents_extensions_and_gzip_members(tmp_path, inflate):
    rng = np.random.default_rng(3)
    data = rng.integers(0, 1000, (3, 4, 5)).astype(np.uint16)
    geo = {"qcode": 1, "quat": (0.1, 0.2, 0.3, 10.5, -3.25, 7.0), "pixdim": (0.7, 0.9, 2.5)}
    for units in (0, 1, 2, 3, 10, 9, 11):  # unknown, metre, mm, micron (+ time units)
        assert check_against_sitk(write_nifti(tmp_path / f"u{units}.nii.gz", data, units=units, **geo),
                                  must_accept=True)
    for intent in (2, 1001, 1002, 2001):
        assert check_against_sitk(write_nifti(tmp_path / f"i{intent}.nii", data, intent=intent), must_accept=True)
    ext = b"\x01\0\0\0" + struct.pack("<ii", 32, 6) + b"x" * 24
    assert check_against_sitk(write_nifti(tmp_path / "ext.nii.gz", data, vox_offset=400, extension=ext, **geo),
                              must_accept=True)
    # several gzip members, trailing bytes after the stream, extra data after the voxels inside the stream
    plain = write_nifti(tmp_path / "plain.nii", data, **geo).read_bytes()
    cuts = (0, 100, 500, len(plain))
    multi = tmp_path / "multi.nii.gz"
    multi.write_bytes(b"".join(gzip.compress(plain[a:b]) for a, b in itertools.pairwise(cuts)))
    assert check_against_sitk(multi, must_accept=True)
    garbage = tmp_path / "garbage.nii.gz"
    garbage.write_bytes(gzip.compress(plain) + b"\0" * 64)
    assert check_against_sitk(garbage, must_accept=True)  # zlib's gzread (ITK) ignores bytes after the stream
    extra = write_nifti(tmp_path / "extra.nii.gz", data, trailing=b"more bytes" * 50, **geo)
    assert check_against_sitk(extra, must_accept=True)


def test_files_left_to_simpleitk(tmp_path):
    data = np.arange(60, dtype=np.int16).reshape(3, 4, 5)
    declined = {
        "pair.nii": {"magic": b"ni1\x00"},
        "complex.nii": {"datatype": 32, "bitpix": 64},
        "rgb.nii": {"datatype": 128, "bitpix": 24},
        "bitpix.nii": {"bitpix": 8},
        "neg_pixdim.nii": {"pixdim": (-1.0, 1.0, 1.0)},
        "zero_pixdim.nii": {"pixdim": (0.0, 1.0, 1.0)},
        "low_offset.nii": {"vox_offset": 348},
        "odd_offset.nii": {"vox_offset": 353.5},
        "vector_intent.nii.gz": {"intent": 1007},
        "bad_unit.nii": {"units": 4},
        "qcode5.nii": {"qcode": 5, "quat": (0, 0, 0, 1, 2, 3)},
        "nan_quat.nii": {"qcode": 1, "quat": (float("nan"), 0, 0, 1, 2, 3)},
    }
    for name, kw in declined.items():
        assert read_nifti(write_nifti(tmp_path / name, data, **kw), "image") is None, name
    nifti2 = tmp_path / "two.nii"
    nifti2.write_bytes(struct.pack("<i", 540) + b"\0" * 600)
    assert read_nifti(nifti2, "image") is None
    plain_bytes = tmp_path / "not_compressed.nii.gz"  # ITK reads it as plain data: SimpleITK's business
    plain_bytes.write_bytes(write_nifti(tmp_path / "x.nii", data).read_bytes())
    assert read_nifti(plain_bytes, "image") is None
    (tmp_path / "stub.nii").write_bytes(b"\x5c\x01\0\0" + b"\0" * 100)
    assert read_nifti(tmp_path / "stub.nii", "image") is None
    assert read_nifti(tmp_path / "absent.nii.gz", "image") is None
    assert read_nifti(tmp_path / "x.hdr", "image") is None


# ---------------------------------------------------------------------------------------------------------- errors


def test_truncated_files_name_the_file(tmp_path, inflate):
    data = np.arange(6 * 7 * 8, dtype=np.int16).reshape(6, 7, 8)
    blob = write_nifti(tmp_path / "full.nii", data).read_bytes()  # 352 + 672 bytes
    cases = {
        "cut.nii": blob[:-100],
        "header_only.nii": blob[:352],
        "cut_content.nii.gz": gzip.compress(blob[:-100]),
        "cut_stream.nii.gz": gzip.compress(blob)[:-200],
        "cut_members.nii.gz": gzip.compress(blob[:400]) + gzip.compress(blob[400:900]),
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(InputError, match=r"truncated NIfTI file: the header needs 1024 bytes of data") as err:
            read_nifti(path, "image")
        assert str(err.value).startswith(f"{path}: ")
        with pytest.raises(InputError) as itk_err:  # same numbers as the SimpleITK path's check
            check_nifti_complete(path)
        assert str(err.value) == str(itk_err.value)
    # a header claiming far more than the compressed file can hold: refused without allocating 54 TB
    huge = write_nifti(tmp_path / "huge.nii.gz", data, dims=(3, 30000, 30000, 30000))
    with pytest.raises(InputError, match=r"needs 54000000000352 bytes of data, the file holds 1024$"):
        read_nifti(huge, "image")


def test_corrupt_gzip_names_the_file(tmp_path, inflate):
    data = np.arange(6 * 7 * 8, dtype=np.int16).reshape(6, 7, 8)
    packed = gzip.compress(write_nifti(tmp_path / "full.nii", data).read_bytes())
    mid = len(packed) // 2
    cases = {
        "garbled.nii.gz": packed[:mid] + bytes(b ^ 0x5A for b in packed[mid:mid + 40]) + packed[mid + 40:],
        "bad_crc.nii.gz": packed[:-8] + bytes([packed[-8] ^ 1]) + packed[-7:],
        "not_nifti.nii.gz": b"\x1f\x8b not really a nifti",
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(InputError, match=r"cannot read mask file \(corrupt gzip stream: ") as err:
            read_nifti(path, "mask")
        assert str(err.value).startswith(f"{path}: ")


# ------------------------------------------------------------------------------------------------ real-world files


def test_reference_nifti_files(reference):
    files = sorted(reference.rglob("*.nii.gz")) + sorted(reference.rglob("*.nii"))
    if not files:
        pytest.skip("no NIfTI files in the reference data")
    for path in files:
        check_against_sitk(path, must_accept=True)


def test_module_imports_nothing_heavy(tmp_path):
    """The point of the reader is to avoid SimpleITK's import: loading and using it must not pull in SimpleITK."""
    data = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    path = write_nifti(tmp_path / "light.nii.gz", data, qcode=1, quat=(0, 0, 1, 1, 2, 3))
    code = (
        "import importlib.util, sys\n"
        "import radiomix.errors, radiomix.image\n"
        "before = set(sys.modules)\n"
        f"spec = importlib.util.spec_from_file_location('nifti_probe', {str(Path(nifti.__file__))!r})\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        f"array, geom = mod.read_nifti({str(path)!r}, 'image')\n"
        "assert array.sum() == 276, array\n"
        "new = sorted(set(sys.modules) - before)\n"
        "assert not [m for m in new if m.split('.')[0] in ('SimpleITK', 'scipy', 'radiomix')], new\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
