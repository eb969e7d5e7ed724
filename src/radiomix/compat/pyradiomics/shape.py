r"""PyRadiomics shape features: ``shape`` (3D, from a marching-cubes mesh) and ``shape2D`` (from marching squares).

The mesh follows PyRadiomics: the mask is padded with one voxel of zeros; every 2x2x2 cube of voxel centres is
classified by which corners are in the mask and triangulated with the classic marching-cubes lookup table
(Lorensen & Cline 1987, in the widely published form of P. Bourke, "Polygonising a scalar field", 1994); like
PyRadiomics only the first 128 configurations are used, a configuration with corner 7 inside being replaced by its
complement with the triangles' orientation flipped. Vertices lie at the midpoints of the cube edges (no interpolation
on a binary mask). With :math:`a, b, c` the vertices of triangle :math:`k` (in mm):

* SurfaceArea :math:`A = \sum_k \frac12|(b-a)\times(c-a)|`, MeshVolume :math:`V = |\sum_k \frac16 a\cdot(b\times c)|`;
* VoxelVolume :math:`N_v V_{voxel}`; SurfaceVolumeRatio :math:`A/V`; Sphericity :math:`\sqrt[3]{36\pi V^2}/A`;
* Maximum3DDiameter the largest distance between mesh vertices; Maximum2DDiameterSlice / Column / Row the largest
  distance between vertices in one axial (same z) / coronal (same y) / sagittal (same x) plane;
* Major / Minor / LeastAxisLength :math:`4\sqrt{\lambda}` with :math:`\lambda` the eigenvalues of the covariance
  (divisor :math:`N_v`) of the voxel-centre coordinates in mm; Elongation :math:`\sqrt{\lambda_{minor}/\lambda_{major}}`,
  Flatness :math:`\sqrt{\lambda_{least}/\lambda_{major}}`.

IBSI differs in its mesh (its reference mesh comes from a different marching-cubes variant), in Elongation and
Flatness (the same square roots) and in naming; see ``mapping.csv``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

NAMES = {
    "shape": ("MeshVolume", "VoxelVolume", "SurfaceArea", "SurfaceVolumeRatio", "Sphericity", "Maximum3DDiameter",
              "Maximum2DDiameterSlice", "Maximum2DDiameterColumn", "Maximum2DDiameterRow", "MajorAxisLength",
              "MinorAxisLength", "LeastAxisLength", "Elongation", "Flatness"),
    "shape2D": ("MeshSurface", "PixelSurface", "Perimeter", "PerimeterSurfaceRatio", "Sphericity", "MaximumDiameter",
                "MajorAxisLength", "MinorAxisLength", "Elongation"),
}

# Classic marching-cubes triangle table: for each of the 256 corner configurations the cube edges (hex digits 0-b)
# of its triangles, three per triangle. Corners (x, y, z): 0 (0,0,0), 1 (1,0,0), 2 (1,1,0), 3 (0,1,0), 4 (0,0,1),
# 5 (1,0,1), 6 (1,1,1), 7 (0,1,1); edges 0:0-1 1:1-2 2:2-3 3:3-0 4:4-5 5:5-6 6:6-7 7:7-4 8:0-4 9:1-5 10:2-6 11:3-7.
_TRI_HEX = (
    "", "083", "019", "183981", "12a", "08312a", "92a029", "2832a8a98", "3b2", "0b28b0", "19023b", "1b219b98b",
    "3a1ba3", "0a108a8ba", "3903b9ba9", "98aa8b", "478", "430734", "019847", "419471731", "12a847", "34730412a",
    "92a902847", "2a9297273794", "8473b2", "b47b24204", "90184723b", "47b94b9b2921", "3a13ba784", "1ba14b1047b4",
    "47890b9bab03", "47b4b99ba", "954", "954083", "054150", "854835315", "12a954", "30812a495", "52a542402",
    "2a5325354348", "95423b", "0b208b495", "05401523b", "21525828b485", "a3ba13954", "4950818a18ba", "54050b5bab03",
    "54858aa8b", "978579", "930953573", "078017157", "153357", "978957a12", "a12950530573", "802825857a52",
    "2a5253357", "7957893b2", "95797292027b", "23b018178157", "b21b17715", "958857a13a3b", "5705097b010aba0",
    "ba0b03a50807570", "ba57b5", "a65", "0835a6", "9015a6", "1831985a6", "165261", "165126308", "965906026",
    "598582526328", "23ba65", "b08b20a65", "01923b5a6", "5a61929b298b", "63b653513", "08b0b50515b6", "3b6036065059",
    "65969bb98", "5a6478", "43047365a", "1905a6847", "a65197173794", "612651478", "125526304347", "847905065026",
    "739794329596269", "3b2784a65", "5a647242027b", "01947823b5a6", "9219b294b7b45a6", "8473b53515b6",
    "51b5b610b7b404b", "059065036b63847", "65969b4797b9", "a4964a", "4a649a083", "a01a60640", "83181686461a",
    "149124264", "308129249264", "024426", "832824426", "a49a64b23", "08228b49a4a6", "3b201606461a",
    "64161a48121b8b1", "964936913b63", "8b1810b61914641", "3b6360064", "648b68", "7a678a89a", "0730a709a67a",
    "a671a7178180", "a67a71173", "126168189867", "269291679093739", "780706602", "732672", "23ba68a89867",
    "20727b09767a9a7", "1801781a767a23b", "b21b17a61671", "896867916b63136", "091b67", "7807063b0b60", "7b6", "76b",
    "308b76", "019b76", "819831b76", "a126b7", "12a3086b7", "2902a96b7", "6b72a3a83a98", "723627", "708760620",
    "276237019", "162186198876", "a76a17137", "a7617a187108", "03707a0a96a7", "76a7a88a9", "684b86", "36b306046",
    "86b846901", "946963931b36", "6846b82a1", "12a30b06b046", "4b846b0292a9", "a93a32943b36463", "823842462",
    "042462", "190234246438", "194142246", "8138618466a1", "a10a06604", "4634386a3039a93", "a946a4", "49576b",
    "083495b76", "50154076b", "b76834354315", "954a1276b", "6b712a083495", "76b54a42a402", "348354325a52b76",
    "723762549", "954086062687", "362376150540", "628687218485158", "954a16176137", "16a176107870954",
    "40a4a503a6a737a", "76a7a854a48a", "6956b9b89", "36b063056095", "0b805b01556b", "6b3635531", "12a95b9b8b56",
    "0b306b09656912a", "b85b56805a52025", "6b36352a3a53", "589528562382", "956960062", "158180568382628", "156216",
    "13616a386569896", "a10a06950560", "03856a", "a56", "b5a75b", "b5ab75830", "5b75ab190", "a75ab7981831",
    "b12b71751", "08312717572b", "9759279022b7", "75272b592328982", "25a235375", "820852875a25", "9015a35373a2",
    "982921872a25752", "135375", "087071175", "903935537", "987597", "5845a8ab8", "5045b05abb30", "01984a8aba45",
    "ab4a45b34941314", "2512852b8458", "04b0b345b2b151b", "0250592b5458b85", "9452b3", "25a352345384", "5a2524420",
    "3a235a385458019", "5a2524192942", "845853351", "045105", "845853905035", "945", "4b749b9ab", "0834979b79ab",
    "1ab1b414074b", "3143481a474bab4", "4b79b492b912", "9749b791b2b1083", "b74b42240", "b74b42834324",
    "29a279237749", "9a7974a27870207", "37a3a274a1a040a", "1a2874", "491417713", "491417081871", "403743", "487",
    "9a8ab8", "30939bb9a", "01a0a88ab", "31ab3a", "12b1b99b8", "30939b1292b9", "02b80b", "32b", "23828aa89",
    "9a2092", "23828a0181a8", "1a2", "138918", "091", "038", "",
)
_CORNERS = np.array([(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1)])
_EDGES = np.array([(0, 1), (1, 2), (2, 3), (3, 0), (4, 5), (5, 6), (6, 7), (7, 4), (0, 4), (1, 5), (2, 6), (3, 7)])


def _tables():
    """Triangle table ``(256, 16)`` (-1 padded) and edge midpoints ``(12, 3)`` in cube units (x, y, z)."""
    tri = -np.ones((256, 16), dtype=np.int64)
    for k, h in enumerate(_TRI_HEX):
        tri[k, : len(h)] = [int(c, 16) for c in h]
    mid = (_CORNERS[_EDGES[:, 0]] + _CORNERS[_EDGES[:, 1]]) / 2.0
    return tri, mid


TRI_TABLE, EDGE_MIDPOINTS = _tables()
_AXES = [1, 2, 0]


def feature_names(cls: str) -> tuple[str, ...]:
    """PyRadiomics feature names of ``shape`` or ``shape2D``."""
    return NAMES[cls]


@njit(cache=True)
def _mesh(mask, corner_off, tri, mid, spacing, complement=True):  # pragma: no cover - jit
    """Area, signed volume and the vertices (mm, (z, y, x)) of the marching-cubes mesh of the padded ``mask``."""
    nz, ny, nx = mask.shape
    area = 0.0
    volume = 0.0
    vbuf = np.empty((16 * (nz - 1) * (ny - 1) * (nx - 1) + 1, 3))
    nv = 0
    for z in range(nz - 1):
        for y in range(ny - 1):
            for x in range(nx - 1):
                idx = 0
                for c in range(8):
                    if mask[z + corner_off[c, 0], y + corner_off[c, 1], x + corner_off[c, 2]]:
                        idx |= 1 << c
                if idx == 0 or idx == 255:
                    continue
                sign = 1.0
                if complement and idx & 0x80:
                    idx ^= 0xFF
                    sign = -1.0
                t = 0
                while t < 16 and tri[idx, t] >= 0:
                    p = np.empty((3, 3))
                    for v in range(3):
                        e = tri[idx, t + v]
                        p[v, 0] = (z + mid[e, 0]) * spacing[0]
                        p[v, 1] = (y + mid[e, 1]) * spacing[1]
                        p[v, 2] = (x + mid[e, 2]) * spacing[2]
                        vbuf[nv, 0] = p[v, 0]
                        vbuf[nv, 1] = p[v, 1]
                        vbuf[nv, 2] = p[v, 2]
                        nv += 1
                    ab = p[1] - p[0]
                    ac = p[2] - p[0]
                    cx = ab[1] * ac[2] - ab[2] * ac[1]
                    cy = ab[2] * ac[0] - ab[0] * ac[2]
                    cz = ab[0] * ac[1] - ab[1] * ac[0]
                    area += 0.5 * np.sqrt(cx * cx + cy * cy + cz * cz)
                    bxc0 = p[1, 1] * p[2, 2] - p[1, 2] * p[2, 1]
                    bxc1 = p[1, 2] * p[2, 0] - p[1, 0] * p[2, 2]
                    bxc2 = p[1, 0] * p[2, 1] - p[1, 1] * p[2, 0]
                    volume += sign * (p[0, 0] * bxc0 + p[0, 1] * bxc1 + p[0, 2] * bxc2) / 6.0
                    t += 3
    verts = vbuf[:nv]
    return area, volume, verts


@njit(cache=True)
def _max_diameters(v):  # pragma: no cover - jit
    """Largest distance over all vertex pairs, and over pairs sharing z, y, x (columns of ``v``) respectively."""
    best = np.zeros(4)
    n = v.shape[0]
    for i in range(n):
        for j in range(i + 1, n):
            dz = v[i, 0] - v[j, 0]
            dy = v[i, 1] - v[j, 1]
            dx = v[i, 2] - v[j, 2]
            d = dz * dz + dy * dy + dx * dx
            best[0] = max(best[0], d)
            if dz == 0 and d > best[1]:
                best[1] = d
            if dy == 0 and d > best[2]:
                best[2] = d
            if dx == 0 and d > best[3]:
                best[3] = d
    return np.sqrt(best)


def mesh(mask: np.ndarray, spacing) -> tuple[float, float, np.ndarray]:
    """(surface area, volume, unique vertices in mm (z, y, x)) of PyRadiomics' marching-cubes mesh of ``mask``."""
    mask = np.asarray(mask, dtype=bool)
    idx = np.nonzero(mask)
    box = tuple(slice(int(i.min()), int(i.max()) + 1) for i in idx)
    # The table's complement trick leaves the mesh open at some ambiguous faces, so its signed volume depends on the
    # origin: like the PyRadiomics versions that wrote the baselines, coordinates start one voxel before the ROI's
    # bounding box (the pipeline's crop padding does not change the result).
    m = np.pad(mask[box], 1)
    # The table's corner (x, y, z) sits at array offset (dz, dy, dx) = (y, z, x): the orientation in which the
    # lookup table's choices for ambiguous faces give PyRadiomics' mesh (checked against PyRadiomics).
    corner_off = np.ascontiguousarray(_CORNERS[:, _AXES].astype(np.int64))
    mid = np.ascontiguousarray(EDGE_MIDPOINTS[:, _AXES])
    area, volume, verts = _mesh(m, corner_off, TRI_TABLE, mid, np.asarray(spacing, dtype=np.float64))
    return float(area), abs(float(volume)), np.unique(verts, axis=0)


def _axes(coords_mm: np.ndarray) -> np.ndarray:
    """Eigenvalues (ascending) of the covariance (divisor N) of point coordinates; tiny negatives clipped to 0."""
    c = coords_mm - coords_mm.mean(axis=0)
    ev = np.linalg.eigvalsh(c.T @ c / len(c))
    return np.clip(ev, 0, None)


def shape3d(mask: np.ndarray, spacing) -> dict[str, float]:
    """All 3D shape features of ``mask`` (voxel spacing ``spacing`` (z, y, x) mm)."""
    area, volume, verts = mesh(mask, spacing)
    d3, d_slice, d_col, d_row = _max_diameters(verts)
    coords = np.argwhere(mask) * np.asarray(spacing)[None, :]
    least, minor, major = _axes(coords)
    nv = int(np.count_nonzero(mask))
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "MeshVolume": volume,
            "VoxelVolume": nv * float(np.prod(spacing)),
            "SurfaceArea": area,
            "SurfaceVolumeRatio": area / volume if volume else np.nan,
            "Sphericity": (36 * np.pi * volume ** 2) ** (1 / 3) / area,
            "Maximum3DDiameter": float(d3),
            "Maximum2DDiameterSlice": float(d_slice),
            "Maximum2DDiameterColumn": float(d_col),
            "Maximum2DDiameterRow": float(d_row),
            "MajorAxisLength": 4 * np.sqrt(major),
            "MinorAxisLength": 4 * np.sqrt(minor),
            "LeastAxisLength": 4 * np.sqrt(least),
            "Elongation": np.sqrt(minor / major) if major > 0 else np.nan,
            "Flatness": np.sqrt(least / major) if major > 0 else np.nan,
        }


def compute(cls: str, image, mask: np.ndarray, spacing, setting) -> dict[str, float]:
    """``shape`` or ``shape2D`` features (shape2D needs ``force2D`` and a mask one voxel thick along
    ``force2Ddimension``)."""
    if cls == "shape":
        return shape3d(mask, spacing)
    from radiomix.compat.pyradiomics.shape2d import shape2d

    return shape2d(mask, spacing, setting)
