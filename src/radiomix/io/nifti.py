"""A native reader for ordinary NIfTI-1 single files (``.nii``/``.nii.gz``) that gives exactly what SimpleITK gives.

Importing SimpleITK costs ~65 ms and ~94 MB per process; for small images that dominates. :func:`read_nifti` parses
the 348-byte NIfTI-1 header with :mod:`struct`, reads the voxels straight into a preallocated NumPy array and builds
the :class:`~radiomix.image.Geometry` with the same arithmetic ITK 5.4 uses. For anything it cannot reproduce
exactly it returns ``None`` and the caller falls back to SimpleITK.

Exactness (checked against SimpleITK 2.5.7 / ITK 5.4 in ``tests/io/test_nifti_native.py``): the array equals
``sitk.GetArrayFromImage(sitk.ReadImage(path))`` (same dtype, 2D images as ``(1, y, x)``), and spacing, origin and
direction are bit-for-bit equal to ``geometry_from_sitk(sitk.ReadImage(path))``.

Accepted files (everything else gives ``None``)
-------------------------------------------------
* ``.nii`` or gzip-compressed ``.nii.gz`` (one or more gzip members), magic ``n+1\\0``, ``sizeof_hdr`` 348, either
  byte order; ``vox_offset`` a whole number >= 352 (extensions between are skipped, as ITK skips them).
* ``dim[0]`` 2 or 3, or 4..7 when every dimension above the third is 1 (ITK then reads a 3D image); all used
  ``dim[i]`` >= 1. ``intent_code`` anything but the vector/matrix intents (1004-1007), which change the pixel type.
* ``datatype`` uint8, int8, uint16, int16, uint32, int32, int64, uint64, float32, float64 with the matching
  ``bitpix`` (no complex, RGB, binary or float128).
* ``pixdim[1..3]`` finite and > 0; spatial unit (``xyzt_units & 7``) unknown, metre, mm or micron (ITK scales
  spacing and origin to mm: x1000, x1, x0.001); every geometry field finite.
* ``scl_slope``/``scl_inter`` finite. ITK's rule (verified): a slope of 0 counts as 1; the data are rescaled when
  slope != 1 or intercept != 0 (this includes slope 0 with a non-zero intercept). Integer data (int64/uint64 too)
  are then converted to float32 first, and every voxel becomes ``float32(float64(v) * slope + inter)`` (float32
  data likewise; float64 data stay float64).
* NaN and infinite voxels of float32/float64 data become 0 (niftilib does this on every read), before any rescaling.
* ``qform_code``/``sform_code`` 0..4, with the transform ITK would choose (below) reproducible.

Geometry rules of ITK 5.4 (``NiftiImageIO``), as reproduced here
-----------------------------------------------------------------
* Spacing is ``pixdim[1..3]`` (float32 widened to float64, times the unit scale), never the sform column norms.
* The qform matrix ``Q`` is built by niftilib in float32 from the quaternion (``a = sqrt(1 - b^2 - c^2 - d^2)``, or
  the 180-degree special case, with ``pixdim[0] < 0`` flipping the third column (qfac = -1)); some products are
  formed in C ``long double``, done here with ``np.longdouble``. With ``qform_code`` 0, ``Q = diag(pixdim[1..3])``.
  The sform matrix ``S`` is ``srow_x/y/z`` as stored (float32).
* Choice: both codes 0: origin 0 and the identity direction. Otherwise ITK takes ``S`` when
  (a) ``sform_code`` > 0 and ``S`` is "decomposable without skew" (invertible, and its columns, once normalised, are
  orthonormal to 1e-4) and either ``qform_code`` is 0 or ``sform_code`` is 1 (SCANNER_ANAT, which is what SimpleITK
  writes for both codes), or (b) ``S`` is not decomposable but is "similar" to ``Q`` (3x3 parts equal to 1e-5 per
  element, translations to 1e-7, computed in float32 as ITK does). It takes ``Q`` when ``qform_code`` > 0 and ``S``
  is not taken. Remaining case: ``sform_code`` 2..4 with ``qform_code`` > 0 and a decomposable ``S``: ITK compares
  the left singular vectors of float32 SVDs of ``S`` and ``Q``, whose signs and order are arbitrary (for consistent
  S and Q, ITK 5.4 took S in about half of random trials, Q in the others, Q more often for isotropic voxels). That
  is reproduced only when ``S == Q`` exactly (either choice gives the same) or the translations differ by more than
  1e-4 (ITK takes ``Q``); otherwise ``None``. Tests near the tolerances (decomposability within a factor 2 of
  1e-4, a near-singular ``S``) give ``None`` as well; ``sform_code`` > 0 with a skewed ``S`` and no usable ``Q`` is an
  error in ITK, so ``None``.
* With the chosen float32 matrix ``M`` (RAS): origin ``(-M[0,3], -M[1,3], M[2,3])`` (times the unit scale), and
  direction column ``j`` is ``(-M[0,j], -M[1,j], M[2,j])`` divided by its Euclidean norm, in float64 (ITK's LPS
  conversion). 2D images use the 2x2 block (columns normalised in 2D) and are accepted when it is clearly
  non-singular.

Errors: a file shorter than its header says gives ``InputError("<path>: truncated NIfTI file: the header needs N bytes
of data, the file holds M")`` (the wording and numbers of ``radiomix.io.itk.check_nifti_complete``); a ``.nii.gz``
whose header claims more than deflate could expand the file to is reported so without allocating the claimed size.
An undecodable gzip stream (including a CRC mismatch at the end of a member) gives ``InputError("<path>: cannot read
<what> file (corrupt gzip stream: ...)")``. A partially filled array is never returned. A ``.nii.gz`` that is not
gzip at all, a missing file or a header shorter than 348 bytes give ``None`` (SimpleITK's path reports those).

Memory and speed: ``.nii`` voxels are read with ``readinto`` straight into the result array (peak: one copy). For
``.nii.gz`` the system's libdeflate is used when it can be loaded (through ``ctypes``; no Python dependency): it
inflates the memory-mapped file, one call per gzip member, into one buffer whose tail is the returned array (peak:
the array plus the file's pages, which are shared with the page cache); that is ~2.5x faster than zlib 1.2 and close
to SimpleITK's own inflater. Without libdeflate (or for unusual streams) ``zlib`` inflates in pieces of at most
4 MiB into the array (peak: one copy plus a few MiB). Big reads, libdeflate and zlib all release the GIL.
Big-endian data are swapped in place.
"""

from __future__ import annotations

import math
import mmap
import os
import struct
import sys
import zlib
from pathlib import Path

import numpy as np

from radiomix.errors import InputError
from radiomix.image import Geometry

_HEADER_SIZE = 348
#: NIfTI datatype code -> (numpy type, bitpix)
_DTYPES = {
    2: (np.uint8, 8),
    4: (np.int16, 16),
    8: (np.int32, 32),
    16: (np.float32, 32),
    64: (np.float64, 64),
    256: (np.int8, 8),
    512: (np.uint16, 16),
    768: (np.uint32, 32),
    1024: (np.int64, 64),
    1280: (np.uint64, 64),
}
#: intents that make ITK read a vector / matrix image (or refuse the file)
_NON_SCALAR_INTENTS = (1004, 1005, 1006, 1007)
#: spatial unit code (xyzt_units & 7) -> ITK's scale to mm
_UNIT_SCALE = {0: 1.0, 1: 1e3, 2: 1.0, 3: 1e-3}
_DBL_EPS = sys.float_info.epsilon
_COMPRESSED_CHUNK = 1 << 20  # compressed bytes read from disk at a time
_OUT_PIECE = 1 << 22  # most bytes one zlib call may produce (bounds the temporary copy)
_MAX_INFLATE_RATIO = 1100  # deflate expands at most ~1032:1
#: shared-library names tried for libdeflate (optional: ~2.5x faster than zlib 1.2 at inflating)
_LIBDEFLATE_NAMES = ("libdeflate.so.0", "libdeflate.so", "libdeflate.0.dylib", "libdeflate.dylib", "libdeflate.dll",
                     "deflate.dll")
_LIBDEFLATE = None  # None: not looked for yet; False: not available; else (ctypes, alloc, free, gunzip)


def read_nifti(path: Path, what: str) -> tuple[np.ndarray, Geometry] | None:
    """Read a plain NIfTI-1 file exactly as SimpleITK would, or return ``None`` when SimpleITK must read it.

    ``what`` ("image", "mask") only appears in error messages. Raises :class:`InputError` for a truncated file or a
    corrupt gzip stream.
    """
    path = Path(path)
    name = path.name.lower()
    if name.endswith(".nii.gz"):
        gz = True
    elif name.endswith(".nii"):
        gz = False
    else:
        return None
    try:
        with open(path, "rb", buffering=0) as f:
            return _read_gz(f, path, what) if gz else _read_plain(f, path)
    except OSError:  # missing, a folder, unreadable: SimpleITK's path reports it
        return None


# ----------------------------------------------------------------------------------------------------------- header


class _Plan:
    """What the header says, once it is known to be acceptable."""

    __slots__ = ("dtype", "geometry", "inter", "nbytes", "offset", "rescale", "shape", "slope", "swap")


def _plan(header: bytes) -> _Plan | None:
    """Parse and vet a header; None when the file is outside what this reader reproduces exactly."""
    if len(header) < _HEADER_SIZE or header[344:348] != b"n+1\x00":
        return None
    for endian in "<>":
        if struct.unpack_from(endian + "i", header, 0)[0] == _HEADER_SIZE:
            break
    else:
        return None
    u = struct.Struct

    def get(fmt, offset):
        return u(endian + fmt).unpack_from(header, offset)

    dims = get("8h", 40)
    intent_code, datatype, bitpix = get("3h", 68)
    pixdim = get("8f", 76)
    vox_offset, slope, inter = get("3f", 108)
    xyzt_units = header[123]
    qform_code, sform_code = get("2h", 252)
    quat = get("6f", 256)
    srows = get("12f", 280)

    ndim = dims[0]
    if ndim < 2 or ndim > 7 or any(d < 1 for d in dims[1:ndim + 1]):
        return None
    if ndim > 3 and any(d != 1 for d in dims[4:ndim + 1]):
        return None  # ITK keeps a 4th (or higher) dimension > 1
    if intent_code in _NON_SCALAR_INTENTS:
        return None
    if datatype not in _DTYPES or _DTYPES[datatype][1] != bitpix:
        return None
    if not (math.isfinite(vox_offset) and vox_offset >= 352 and vox_offset == int(vox_offset)):
        return None
    space_unit = xyzt_units & 7
    if space_unit not in _UNIT_SCALE:
        return None
    if not (math.isfinite(slope) and math.isfinite(inter)):
        return None
    itk_dims = 2 if ndim == 2 else 3
    spacing_f = pixdim[1:itk_dims + 1]
    if not all(math.isfinite(p) and p > 0 for p in spacing_f):
        return None
    if not all(math.isfinite(v) for v in (*pixdim[:4], *quat, *srows)):
        return None
    if not (0 <= qform_code <= 4 and 0 <= sform_code <= 4):
        return None

    geometry = _geometry(itk_dims, dims, pixdim, quat, srows, qform_code, sform_code, _UNIT_SCALE[space_unit])
    if geometry is None:
        return None

    plan = _Plan()
    dtype = np.dtype(_DTYPES[datatype][0])
    plan.dtype = dtype
    plan.swap = dtype.itemsize > 1 and (endian == "<") != (sys.byteorder == "little")
    nx, ny = dims[1], dims[2]
    nz = dims[3] if itk_dims == 3 else 1
    plan.shape = (nz, ny, nx)
    plan.offset = int(vox_offset)
    plan.nbytes = nx * ny * nz * dtype.itemsize
    plan.geometry = geometry
    # ITK: a slope of (almost) 0 counts as 1; rescale when slope != 1 or intercept != 0
    plan.slope = 1.0 if abs(slope) < _DBL_EPS else slope
    plan.inter = inter
    plan.rescale = abs(plan.slope - 1.0) > _DBL_EPS or abs(inter) > _DBL_EPS
    return plan


# --------------------------------------------------------------------------------------------------------- geometry


def _qform_matrix(quat, pixdim) -> np.ndarray:
    """niftilib's quaternion -> float32 4x4 matrix (RAS), with its double / long double arithmetic."""
    ld = np.longdouble
    b, c, d = quat[0], quat[1], quat[2]
    sq = b * b + c * c + d * d
    a = float(ld(1.0) - ld(sq))  # C: double a = 1.0L - (double)
    if ld(a) < ld("1e-7"):  # 180-degree rotation: normalise (b, c, d)
        a = float(ld(1.0) / ld(math.sqrt(sq)))
        b, c, d = b * a, c * a, d * a
        a = 0.0
    else:
        a = math.sqrt(a)
    xd, yd, zd = (p if p > 0.0 else 1.0 for p in pixdim[1:4])
    if pixdim[0] < 0.0:  # qfac
        zd = -zd
    two = ld(2.0)
    m = np.zeros((4, 4), np.float32)
    m[0, 0] = (a * a + b * b - c * c - d * d) * xd
    m[0, 1] = two * ld(b * c - a * d) * ld(yd)
    m[0, 2] = two * ld(b * d + a * c) * ld(zd)
    m[1, 0] = two * ld(b * c + a * d) * ld(xd)
    m[1, 1] = (a * a + c * c - b * b - d * d) * yd
    m[1, 2] = two * ld(c * d - a * b) * ld(zd)
    m[2, 0] = two * ld(b * d - a * c) * ld(xd)
    m[2, 1] = two * ld(c * d + a * b) * ld(yd)
    m[2, 2] = (a * a + d * d - c * c - b * b) * zd
    m[0:3, 3] = quat[3:6]
    m[3, 3] = 1.0
    return m


def _decomposable(s: np.ndarray) -> bool | None:
    """ITK's "sform decomposable without skew" test, or None when too close to its tolerances to be sure."""
    m = s.astype(np.float64)
    sv = np.linalg.svd(m, compute_uv=False)
    if not sv[0] > 0 or sv[-1] / sv[0] < 1e-7:
        return None  # (nearly) singular: ITK's conditioning test would be a coin toss
    r = m[:3, :3] / np.linalg.norm(m[:3, :3], axis=0)
    dev = float(np.abs(r @ r.T - np.eye(3)).max())
    if dev < 5e-5:
        return True
    if dev > 2e-4:
        return False
    return None


def _similar(q: np.ndarray, s: np.ndarray) -> bool:
    """ITK's first "qform and sform are similar" test, in float32 as ITK does it."""
    if (np.abs(s[:3, :3] - q[:3, :3]).astype(np.float64) > 1e-5).any():  # float32 differences, double compare
        return False
    total = np.float32(0.0)
    for v in np.abs(s[:, 3] - q[:, 3]):
        total = np.float32(total + v)
    return not float(total) > 1e-7


def _choose(qcode: int, scode: int, q: np.ndarray, s: np.ndarray) -> np.ndarray | None:
    """The float32 matrix ITK 5.4 takes for the direction and origin, or None where that cannot be decided exactly."""
    if scode == 0:
        return q  # S is not even affine for ITK: qform (or the pixdim diagonal) wins
    if qcode != 0 and np.array_equal(q, s):
        return s  # whichever ITK prefers, the result is the same
    dec = _decomposable(s)
    if dec is None:
        return None
    if dec:
        if qcode == 0 or scode == 1:
            return s
        # sform_code 2..4 with a qform: ITK compares float32 SVDs of both; reproduce only its clear "no" on offsets
        if (np.abs(s[:3, 3] - q[:3, 3]).astype(np.float64) > 1e-4).any():
            return q
        return None
    if _similar(q, s):
        return s
    return q if qcode != 0 else None  # skewed sform and no qform: ITK refuses the file


def _normalized(v: list[float]) -> list[float]:
    total = 0.0
    for x in v:
        total += x * x
    if total == 0.0:
        return v
    norm = math.sqrt(total)
    return [x / norm for x in v]


def _geometry(itk_dims, dims, pixdim, quat, srows, qcode, scode, scale) -> Geometry | None:
    spacing = [float(p) * scale for p in pixdim[1:itk_dims + 1]]
    if qcode == 0 and scode == 0:
        origin = [0.0] * itk_dims
        direction = np.eye(itk_dims)
    else:
        if qcode > 0:
            q = _qform_matrix(quat, pixdim)
        else:
            q = np.zeros((4, 4), np.float32)
            q[0, 0], q[1, 1], q[2, 2], q[3, 3] = pixdim[1], pixdim[2], pixdim[3], 1.0
        s = np.zeros((4, 4), np.float32)
        if scode > 0:
            s[:3, :] = np.asarray(srows, np.float32).reshape(3, 4)
            s[3, 3] = 1.0
        m = _choose(qcode, scode, q, s)
        if m is None:
            return None
        m = m.astype(np.float64)
        flip = (-1.0, -1.0, 1.0)  # RAS -> LPS
        origin = [flip[i] * float(m[i, 3]) * scale for i in range(itk_dims)]
        direction = np.empty((itk_dims, itk_dims))
        for j in range(itk_dims):
            direction[:, j] = _normalized([flip[i] * float(m[i, j]) for i in range(itk_dims)])
        if itk_dims == 2 and abs(np.linalg.det(direction)) < 1e-3:
            return None
    if itk_dims == 2:
        d3 = np.eye(3)
        d3[:2, :2] = direction
        return Geometry((1, dims[2], dims[1]), (1.0, spacing[1], spacing[0]), (origin[0], origin[1], 0.0), d3)
    return Geometry((dims[3], dims[2], dims[1]), spacing[::-1], origin, direction)


# ------------------------------------------------------------------------------------------------------------- data


def _truncated(path: Path, needed: int, held: int) -> InputError:
    return InputError(f"{path}: truncated NIfTI file: the header needs {needed} bytes of data, the file holds {held}")


def _finish(plan: _Plan, out: np.ndarray) -> tuple[np.ndarray, Geometry]:
    if plan.swap:
        out.byteswap(inplace=True)
    if out.dtype.kind == "f":  # niftilib sets every NaN and infinite voxel of float data to 0
        step = 1 << 20
        for start in range(0, out.size, step):
            block = out[start:start + step]
            bad = ~np.isfinite(block)
            if bad.any():
                block[bad] = 0
    if plan.rescale:
        if out.dtype.kind in "iu":
            out = out.astype(np.float32)
        work = out.astype(np.float64)
        work *= plan.slope
        work += plan.inter
        out = work.astype(out.dtype)
    return out.reshape(plan.shape), plan.geometry


def _read_plain(f, path: Path):
    header = f.read(_HEADER_SIZE)
    plan = _plan(header)
    if plan is None:
        return None
    needed = plan.offset + plan.nbytes
    size = os.fstat(f.fileno()).st_size
    if size < needed:
        raise _truncated(path, needed, size)
    out = np.empty(plan.nbytes // plan.dtype.itemsize, plan.dtype)
    view = memoryview(out).cast("B")
    f.seek(plan.offset)
    filled = 0
    while filled < plan.nbytes:
        n = f.readinto(view[filled:])
        if not n:
            raise _truncated(path, needed, plan.offset + filled)  # the file shrank under us
        filled += n
    return _finish(plan, out)


class _GzipStream:
    """Inflate a (possibly multi-member) gzip file into caller buffers, in bounded pieces."""

    def __init__(self, f, path: Path, what: str):
        self.f, self.path, self.what = f, path, what
        self.d = zlib.decompressobj(31)
        self.pending = b""  # compressed input not yet handed to zlib
        self.out = b""  # inflated bytes not yet handed out
        self.out_pos = 0
        self.total = 0  # bytes inflated so far
        self.done = False

    def _corrupt(self, exc) -> InputError:
        return InputError(f"{self.path}: cannot read {self.what} file (corrupt gzip stream: {exc})")

    def _inflate(self, limit: int) -> bytes:
        """Up to ``limit`` more inflated bytes (b"" only at the end of the stream)."""
        while not self.done:
            d = self.d
            if d.eof:  # end of a member: another may follow
                rest = d.unused_data + self.pending
                while len(rest) < 2:
                    more = self.f.read(_COMPRESSED_CHUNK)
                    if not more:
                        break
                    rest += more
                if rest[:2] != b"\x1f\x8b":  # end of file, or trailing bytes zlib's gzread ignores
                    self.done = True
                    break
                self.d, self.pending = zlib.decompressobj(31), rest
                continue
            data = d.unconsumed_tail or self.pending
            self.pending = b""
            if not data:
                data = self.f.read(_COMPRESSED_CHUNK)
                if not data:  # input ends inside a member: a truncated file
                    try:
                        piece = d.flush()
                    except zlib.error as exc:
                        raise self._corrupt(exc) from None
                    self.done = True
                    self.total += len(piece)
                    return piece
            try:
                piece = d.decompress(data, limit)
            except zlib.error as exc:
                raise self._corrupt(exc) from None
            if piece:
                self.total += len(piece)
                return piece
        return b""

    def readinto(self, view: memoryview) -> int:
        """Fill ``view`` as far as the stream goes; returns the number of bytes written."""
        filled, size = 0, len(view)
        while filled < size:
            if self.out_pos < len(self.out):
                n = min(size - filled, len(self.out) - self.out_pos)
                view[filled:filled + n] = self.out[self.out_pos:self.out_pos + n]
                self.out_pos += n
                filled += n
                continue
            self.out, self.out_pos = b"", 0
            piece = self._inflate(min(size - filled, _OUT_PIECE))
            if not piece:
                break
            if len(piece) <= size - filled:
                view[filled:filled + len(piece)] = piece
                filled += len(piece)
            else:
                self.out = piece
        return filled

    def skip(self, n: int) -> int:
        buf = bytearray(min(n, 1 << 16))
        skipped = 0
        while skipped < n:
            got = self.readinto(memoryview(buf)[:min(n - skipped, len(buf))])
            if not got:
                break
            skipped += got
        return skipped

    def check_end(self) -> None:
        """Inflate a little past the image so a member that ends there has its CRC checked (as reading on would)."""
        buf = bytearray(1 << 16)
        self.readinto(memoryview(buf))


def _load_libdeflate():
    """libdeflate's gzip decoder through ctypes, if the system has the library; False otherwise."""
    try:
        import ctypes
    except ImportError:  # pragma: no cover - ctypes is part of every CPython build we support
        return False
    for name in _LIBDEFLATE_NAMES:
        try:
            lib = ctypes.CDLL(name)
            alloc = lib.libdeflate_alloc_decompressor
            free = lib.libdeflate_free_decompressor
            gunzip = lib.libdeflate_gzip_decompress_ex  # libdeflate >= 1.4
        except (OSError, AttributeError):
            continue
        alloc.restype, alloc.argtypes = ctypes.c_void_p, []
        free.restype, free.argtypes = None, [ctypes.c_void_p]
        size_p = ctypes.POINTER(ctypes.c_size_t)
        gunzip.restype = ctypes.c_int
        gunzip.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t,
                           size_p, size_p]
        return ctypes, alloc, free, gunzip
    return False


def _libdeflate():
    global _LIBDEFLATE
    if _LIBDEFLATE is None:
        _LIBDEFLATE = _load_libdeflate()
    return _LIBDEFLATE


def _inflate_libdeflate(f, plan: _Plan) -> np.ndarray | None:
    """The voxels, inflated by libdeflate from a memory map of the file into one buffer; None when libdeflate is
    missing or the stream is anything but gzip members that hold exactly header + voxels (zlib then decides)."""
    lib = _libdeflate()
    if not lib or plan.offset % plan.dtype.itemsize:
        return None
    ctypes, alloc, free, gunzip = lib
    needed = plan.offset + plan.nbytes
    try:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    if hasattr(mm, "madvise"):
        mm.madvise(mmap.MADV_SEQUENTIAL)
    raw = np.empty(needed, np.uint8)  # header bytes, then the voxels (a view of them is returned)
    decompressor = alloc()
    try:
        if not decompressor:
            return None
        src = np.frombuffer(mm, np.uint8)
        base, size = src.ctypes.data, src.size
        del src  # keep no export of the map alive (it is closed below); base stays valid until then
        dst = raw.ctypes.data
        used, made = ctypes.c_size_t(), ctypes.c_size_t()
        pos = produced = 0
        while produced < needed:  # one call per gzip member; the GIL is released during each
            if size - pos < 18 or mm[pos:pos + 2] != b"\x1f\x8b":
                return None  # the data end early: zlib's path reports it
            rc = gunzip(decompressor, base + pos, size - pos, dst + produced, needed - produced, ctypes.byref(used),
                        ctypes.byref(made))
            if rc != 0 or not used.value:
                return None  # corrupt, truncated, or more data in the member than the header accounts for
            pos += used.value
            produced += made.value
    finally:
        if decompressor:
            free(decompressor)
        mm.close()
    return raw[plan.offset:].view(plan.dtype)


def _inflate_zlib(f, path: Path, what: str, plan: _Plan) -> np.ndarray:
    f.seek(0)
    stream = _GzipStream(f, path, what)
    pos = stream.skip(plan.offset)
    out = np.empty(plan.nbytes // plan.dtype.itemsize, plan.dtype)
    filled = stream.readinto(memoryview(out).cast("B")) if pos == plan.offset else 0
    if filled < plan.nbytes:
        del out
        # the stream is exhausted, so total is all it holds
        raise _truncated(path, plan.offset + plan.nbytes, stream.total)
    stream.check_end()
    return out


def _read_gz(f, path: Path, what: str):
    if f.read(2) != b"\x1f\x8b":
        return None  # not gzip at all: ITK would read it as plain data; leave it to SimpleITK's path
    f.seek(0)
    header = bytearray(_HEADER_SIZE)
    got = _GzipStream(f, path, what).readinto(memoryview(header))
    plan = _plan(bytes(header[:got]))
    if plan is None:
        return None
    if plan.nbytes > _MAX_INFLATE_RATIO * os.fstat(f.fileno()).st_size:
        # deflate cannot expand that much: the file is truncated (or the header is garbage). Count what it holds
        # instead of allocating the image the header claims.
        f.seek(0)
        stream = _GzipStream(f, path, what)
        stream.skip(plan.offset + plan.nbytes)
        raise _truncated(path, plan.offset + plan.nbytes, stream.total)
    out = _inflate_libdeflate(f, plan)
    if out is None:
        out = _inflate_zlib(f, path, what, plan)
    return _finish(plan, out)
