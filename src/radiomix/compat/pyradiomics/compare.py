"""Measure how far PyRadiomics compatibility mode is from radiomix's IBSI mode on one case (for the migration guide:
``docs/moving-from-pyradiomics.md``). ``python -m radiomix.compat.pyradiomics.compare IMAGE MASK [LABEL]`` prints the
table in Markdown."""

from __future__ import annotations

import sys
import warnings

#: PyRadiomics (class, feature) -> radiomix IBSI (family, feature, aggregation) for features defined the same way up
#: to the documented differences (discretisation, kurtosis offset, grey levels kept, mesh).
IBSI_EQUIVALENTS = {
    ("shape", "VoxelVolume"): ("morphology", "volume_voxel_counting", ""),
    ("shape", "MeshVolume"): ("morphology", "volume_mesh", ""),
    ("shape", "SurfaceArea"): ("morphology", "surface_area_mesh", ""),
    ("shape", "Sphericity"): ("morphology", "sphericity", ""),
    ("shape", "Maximum3DDiameter"): ("morphology", "maximum_3d_diameter", ""),
    ("shape", "MajorAxisLength"): ("morphology", "major_axis_length", ""),
    ("shape", "Elongation"): ("morphology", "elongation", ""),
    ("firstorder", "Mean"): ("statistics", "mean", ""),
    ("firstorder", "Variance"): ("statistics", "variance", ""),
    ("firstorder", "Skewness"): ("statistics", "skewness", ""),
    ("firstorder", "Kurtosis"): ("statistics", "kurtosis", ""),
    ("firstorder", "Energy"): ("statistics", "energy", ""),
    ("firstorder", "RootMeanSquared"): ("statistics", "root_mean_square", ""),
    ("firstorder", "10Percentile"): ("statistics", "percentile_10", ""),
    ("firstorder", "Entropy"): ("intensity_histogram", "entropy", ""),
    ("firstorder", "Uniformity"): ("intensity_histogram", "uniformity", ""),
    ("glcm", "Contrast"): ("glcm", "contrast", "3d_averaged"),
    ("glcm", "JointEntropy"): ("glcm", "joint_entropy", "3d_averaged"),
    ("glcm", "JointEnergy"): ("glcm", "angular_second_moment", "3d_averaged"),
    ("glcm", "Correlation"): ("glcm", "correlation", "3d_averaged"),
    ("glcm", "Idmn"): ("glcm", "normalised_inverse_difference_moment", "3d_averaged"),
    ("glcm", "Imc1"): ("glcm", "information_correlation_1", "3d_averaged"),
    ("glrlm", "ShortRunEmphasis"): ("glrlm", "short_runs_emphasis", "3d_averaged"),
    ("glrlm", "RunLengthNonUniformity"): ("glrlm", "run_length_non_uniformity", "3d_averaged"),
    ("glrlm", "RunEntropy"): ("glrlm", "run_entropy", "3d_averaged"),
    ("glszm", "SmallAreaEmphasis"): ("glszm", "small_zone_emphasis", "3d"),
    ("glszm", "ZoneEntropy"): ("glszm", "zone_size_entropy", "3d"),
    ("glszm", "GrayLevelNonUniformity"): ("glszm", "grey_level_non_uniformity", "3d"),
    ("ngtdm", "Coarseness"): ("ngtdm", "coarseness", "3d"),
    ("ngtdm", "Contrast"): ("ngtdm", "contrast", "3d"),
    ("ngtdm", "Busyness"): ("ngtdm", "busyness", "3d"),
    ("gldm", "DependenceEntropy"): ("ngldm", "dependence_count_entropy", "3d"),
    ("gldm", "LargeDependenceEmphasis"): ("ngldm", "high_dependence_emphasis", "3d"),
}


def compare_with_ibsi(image, mask, bin_width: float = 25.0):
    """Per-feature relative difference between compatibility mode (PyRadiomics defaults, ``binWidth``) and radiomix's
    IBSI mode with the nearest IBSI settings (no resampling, fixed bin size ``bin_width`` from the ROI minimum, 3D)."""
    import pandas as pd

    from radiomix.compat.pyradiomics import settings_from_params
    from radiomix.extract import extract
    from radiomix.settings import Discretisation, Settings, Texture

    compat = settings_from_params({"setting": {"binWidth": bin_width},
                                   "featureClass": {c: None for c in ("shape", "firstorder", "glcm", "glrlm", "glszm",
                                                                      "gldm", "ngtdm")}})
    ibsi = Settings(name="ibsi_nearest", discretisation=Discretisation(method="fixed_bin_size", bin_width=bin_width),
                    texture=Texture(aggregations=("3d_averaged", "3d")),
                    families=("morphology", "statistics", "intensity_histogram", "glcm", "glrlm", "glszm", "ngtdm",
                              "ngldm"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from radiomix.compat.pyradiomics.names import to_pyradiomics_names

        a = to_pyradiomics_names(extract(image, mask, compat))
        b = extract(image, mask, ibsi)
    rows = []
    for (cls, feat), (fam, rfeat, agg) in IBSI_EQUIVALENTS.items():
        va = a.get(f"original_{cls}_{feat}")
        try:
            vb = b.get(fam, rfeat, agg)
        except KeyError:
            vb = float("nan")
        rel = abs(va - vb) / max(abs(vb), 1e-300) if va is not None else float("nan")
        rows.append({"pyradiomics": f"{cls}/{feat}", "ibsi": f"{fam}/{rfeat}", "compat": va, "ibsi_mode": vb,
                     "relative_difference": rel})
    return pd.DataFrame(rows)


def main(argv=None) -> None:
    from radiomix.io import read_image, read_mask

    argv = sys.argv[1:] if argv is None else argv
    label = int(argv[2]) if len(argv) > 2 else 1
    img = read_image(argv[0])
    df = compare_with_ibsi(img, read_mask(argv[1], label=label))
    print("| PyRadiomics feature | radiomix IBSI feature | compat mode | IBSI mode | relative difference |")
    print("|---|---|---:|---:|---:|")
    for r in df.itertuples():
        print(f"| {r.pyradiomics} | {r.ibsi} | {r.compat:.6g} | {r.ibsi_mode:.6g} | {r.relative_difference:.2e} |")


if __name__ == "__main__":
    main()
