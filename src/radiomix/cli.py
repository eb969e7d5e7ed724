"""The ``radiomix`` command. Thin: parses arguments, configures logging, calls the public API."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from radiomix.errors import RadiomixError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="radiomix: IBSI-compliant radiomics.")
from radiomix.cli_dicom import app as dicom_app

app.add_typer(dicom_app, name="dicom")
# Each area registers its own commands from its own module (heavy imports stay inside the commands).
from radiomix import cli_filter, cli_map, cli_models, cli_report, cli_robustness, cli_segment

for _module in (cli_filter, cli_map, cli_models, cli_report, cli_robustness, cli_segment):
    _module.register(app)
# tables keep their full width in logs and pipes (rich would cut them to 80 columns there)
console = Console(width=None if sys.stdout.isatty() else 200)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


def _settings(preset_name: str | None, settings_file: Path | None, pyradiomics_params: Path | None = None,
              names: str = "radiomix"):
    from radiomix.settings import load_settings, preset

    if names not in ("radiomix", "pyradiomics"):
        raise typer.BadParameter("--names must be radiomix or pyradiomics")
    if pyradiomics_params is not None:
        if preset_name is not None or settings_file is not None:
            raise typer.BadParameter("--pyradiomics-params cannot be combined with --preset or --settings")
        from radiomix.compat.pyradiomics import settings_from_params

        return settings_from_params(pyradiomics_params, name=pyradiomics_params.stem)
    if (preset_name is None) == (settings_file is None):
        raise typer.BadParameter("give exactly one of --preset NAME, --settings FILE or --pyradiomics-params FILE")
    s = preset(preset_name) if preset_name else load_settings(settings_file)
    if names == "pyradiomics" and s.pyradiomics is None:
        raise typer.BadParameter("--names pyradiomics needs PyRadiomics mode (--pyradiomics-params or a pyradiomics "
                                 "preset/settings)")
    return s


_PYRADIOMICS_HELP = "PyRadiomics parameter file (YAML/JSON): PyRadiomics compatibility mode"
_NAMES_HELP = "feature column names: radiomix (original_glcm_contrast) or pyradiomics (original_glcm_Contrast)"


def write_table(df, out: Path | None) -> None:
    """Write a table as CSV or Parquet by suffix (numbers locale-independent); print it when ``out`` is None."""
    if out is None:
        console.print(df.to_string(index=False))
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".parquet":
        df.to_parquet(out, index=False)
    elif out.suffix.lower() == ".csv":
        df.to_csv(out, index=False, float_format="%.10g")
    else:
        raise typer.BadParameter(f"{out}: output must end in .csv or .parquet")
    err_console.print(f"wrote {out}")


def _csv_cell_formatter(values: list):
    """How pandas' ``to_csv(float_format="%.10g")`` writes a column holding ``values`` (one per row), or None where
    the column is not of one plain kind (pandas would then store it as objects or floats: left to pandas)."""
    import math
    import numbers

    kinds = {bool if isinstance(v, bool) else int if isinstance(v, numbers.Integral)
             else float if isinstance(v, numbers.Real) else str if isinstance(v, str) else None for v in values}
    if kinds == {float}:
        return lambda v: "" if math.isnan(v) else "%.10g" % v  # noqa: UP031 - pandas' float_format, exactly
    if kinds == {int}:
        return lambda v: str(int(v))
    if kinds in ({bool}, {str}):
        return str
    return None


def write_wide_csv(rows: list[dict], out: Path) -> bool:
    """Write ``rows`` (one dict per row, the same keys in the same order) as
    ``pandas.DataFrame(rows).to_csv(out, index=False, float_format="%.10g")`` would, byte for byte, without importing
    pandas (~0.3 s of a one-case run). False, with nothing written, where the rows are not that simple."""
    import csv

    if not rows or any(list(r) != list(rows[0]) for r in rows[1:]):
        return False
    columns = list(rows[0])
    formats = [_csv_cell_formatter([r[c] for r in rows]) for c in columns]
    if any(f is None for f in formats):
        return False
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([f(r[c]) for c, f in zip(columns, formats)] for r in rows)
    err_console.print(f"wrote {out}")
    return True


_LESIONS_HELP = ("split the mask into lesions (connected components): per-lesion (one row each, largest first), "
                 "largest, volume-weighted or merged (one row); overrides the settings' lesions")


@app.command()
def extract(
    image: Path = typer.Argument(..., help="image file (NIfTI, NRRD, MHA) or DICOM series folder"),
    mask: Path = typer.Argument(..., help="mask / label map file, or DICOM RTSTRUCT / SEG file"),
    label: int | None = typer.Option(None, help="label of the ROI (default: every non-zero voxel)"),
    roi: str | None = typer.Option(None, help="RTSTRUCT ROI name or SEG segment label (DICOM masks)"),
    preset: str | None = typer.Option(None, help="named settings preset, e.g. ibsi_config_c"),
    settings: Path | None = typer.Option(None, help="settings YAML file"),
    format: str = typer.Option("wide", help="wide (one row) or long (one row per value)"),
    out: Path | None = typer.Option(None, help="output .csv or .parquet (default: print)"),
    lesions: str | None = typer.Option(None, help=_LESIONS_HELP),
    lesion_connectivity: int = typer.Option(26, help="lesion connectivity: 6, 18, 26 (3D) or 4, 8 (per slice)"),
    lesion_min_voxels: int = typer.Option(1, help="ignore lesions with fewer voxels"),
    pyradiomics_params: Path | None = typer.Option(None, "--pyradiomics-params", help=_PYRADIOMICS_HELP),
    names: str = typer.Option("radiomix", help=_NAMES_HELP),
):
    """Extract features of one ROI (or of each lesion in it, with --lesions per-lesion)."""
    if format not in ("wide", "long"):
        raise typer.BadParameter("--format must be wide or long")
    from radiomix.extract import extract_lesions
    from radiomix.io import read_image, read_mask

    s = _with_lesions(_settings(preset, settings, pyradiomics_params, names), lesions, lesion_connectivity,
                      lesion_min_voxels)
    if label is None and s.pyradiomics is not None:  # PyRadiomics' label setting (default 1)
        label = int(s.pyradiomics.get("label"))
    img = read_image(image)
    sets = extract_lesions(img, read_mask(mask, label=label, image=img, roi=roi), s)
    rows = [{**fs.lesion, **fs.to_dict()} for fs in sets] if format == "wide" else None
    if (rows is not None and names == "radiomix" and out is not None and out.suffix.lower() == ".csv"
            and write_wide_csv(rows, out)):
        return
    import pandas as pd

    if rows is not None:
        df = pd.DataFrame(rows)
    else:
        df = pd.concat([fs.to_long().assign(**fs.lesion) for fs in sets], ignore_index=True)
        df = df[[*sets[0].lesion, *[c for c in df.columns if c not in sets[0].lesion]]]
    if names == "pyradiomics":
        from radiomix.compat.pyradiomics.names import column_to_pyradiomics, rename_table

        if format == "wide":
            df = rename_table(df)
        else:
            df["pyradiomics_name"] = [column_to_pyradiomics(f"{r.image_type}_{r.family}_{r.feature}")
                                      for r in df.itertuples()]
    write_table(df, out)


def _with_lesions(s, mode: str | None, connectivity: int, min_voxels: int):
    """The settings with ``lesions`` set from the command line (unchanged when ``mode`` is None)."""
    if mode is None:
        return s
    from pydantic import ValidationError

    from radiomix.settings import Lesions

    try:
        spec = Lesions(mode=mode, connectivity=connectivity, min_voxels=min_voxels)
    except ValidationError as exc:
        raise typer.BadParameter(f"--lesions {mode} / --lesion-connectivity {connectivity} / --lesion-min-voxels "
                                 f"{min_voxels}: {exc.errors()[0]['msg']}") from None
    return s.replace(lesions=spec)


@app.command()
def batch(
    manifest: Path = typer.Argument(..., help="manifest .csv/.parquet with case_id, image, mask [, label, ...]"),
    out: Path = typer.Option(..., help="output folder"),
    preset: str | None = typer.Option(None, help="named settings preset"),
    settings: Path | None = typer.Option(None, help="settings YAML file"),
    jobs: int = typer.Option(1, min=1, help="worker processes"),
    dask: str | None = typer.Option(None, help="'local' for a Dask LocalCluster, or a scheduler address tcp://h:p"),
    resume: bool = typer.Option(False, help="skip cases whose shard exists with matching input and settings hashes"),
    csv: bool = typer.Option(False, help="also write features.csv"),
    memory_limit_mb: int | None = typer.Option(None, help="per-worker memory limit; a case over it fails alone"),
    roi: str | None = typer.Option(None, help="DICOM folder as manifest: only this ROI / segment (default: all)"),
    lesions: str | None = typer.Option(None, help=_LESIONS_HELP),
    lesion_connectivity: int = typer.Option(26, help="lesion connectivity: 6, 18, 26 (3D) or 4, 8 (per slice)"),
    lesion_min_voxels: int = typer.Option(1, help="ignore lesions with fewer voxels"),
    pyradiomics_params: Path | None = typer.Option(None, "--pyradiomics-params", help=_PYRADIOMICS_HELP),
    names: str = typer.Option("radiomix", help=_NAMES_HELP),
):
    """Extract features for a cohort. MANIFEST: a table, a PyRadiomics batch CSV (Image, Mask [, Label, ID]) or a
    DICOM root folder. Exit code 0: all cases done; 1: some failed (see failures.parquet); 2: bad arguments or
    settings."""
    from radiomix.batch import extract_batch

    s = _with_lesions(_settings(preset, settings, pyradiomics_params, names), lesions, lesion_connectivity,
                      lesion_min_voxels)
    res = extract_batch(manifest, s, out, jobs=jobs, dask=dask, resume=resume, csv=csv,
                        memory_limit_mb=memory_limit_mb, roi=roi)
    n = len(res.statuses)
    skipped = sum(st.get("status") == "skipped" for st in res.statuses)
    err_console.print(f"{n} cases: {n - res.n_failed_cases - skipped} extracted, {skipped} skipped (resume), "
                      f"{res.n_failed_cases} failed; results in {res.out_dir}")
    if names == "pyradiomics":  # rename the merged tables' feature columns PyRadiomics-style
        import pandas as pd

        from radiomix.compat.pyradiomics.names import rename_table

        for table in (Path(res.out_dir) / "features.parquet", Path(res.out_dir) / "features.csv"):
            if table.exists():
                df = pd.read_parquet(table) if table.suffix == ".parquet" else pd.read_csv(table)
                df = rename_table(df)
                if table.suffix == ".parquet":
                    df.to_parquet(table, index=False)
                else:
                    df.to_csv(table, index=False, float_format="%.10g")
    if len(res.failures):
        for rec in res.failures.head(20).to_dict("records"):
            err_console.print(f"  failed {rec['case_id']} [{rec['stage']}] {rec['error_type']}: {rec['message']}")
    raise typer.Exit(res.exit_code)


@app.command()
def features():
    """Print the feature catalogue: name, family, IBSI id, unit."""
    from radiomix.features import FAMILIES

    t = Table("family", "feature", "IBSI", "unit", "formula", title="radiomix feature catalogue")
    n = 0
    for fam in FAMILIES.values():
        for f in fam.features:
            t.add_row(fam.name, f.name, f.ibsi, f.unit, f.formula[:80])
            n += 1
    console.print(t)
    console.print(f"{n} features in {len(FAMILIES)} families")


@app.command()
def ibsi(
    reference: Path | None = typer.Option(None, help="reference folder (default: $RADIOMIX_REFERENCE_DIR or "
                                                     "../shared/reference)"),
    config: str = typer.Option("dig,a,b,c,d,e", help="comma-separated configurations"),
    failures: bool = typer.Option(False, help="list every failing row"),
    chapter2: bool = typer.Option(True, help="also IBSI 2 phase 2 (filtered CT phantom statistics)"),
):
    """Compute every IBSI 1 (and IBSI 2 phase 2) reference row and print passes and failures per configuration and family."""
    from collections import defaultdict

    from radiomix import ibsi as ib

    configs = tuple("dig" if c.strip().lower() == "dig" else c.strip().upper() for c in config.split(","))
    bad = [c for c in configs if c not in ib.CONFIGS]
    if bad:
        raise typer.BadParameter(f"unknown configuration(s) {bad}; choose from dig, a, b, c, d, e")
    results = ib.run(configs, reference)
    tally: dict = defaultdict(lambda: [0, 0])
    for r in results:
        tally[(r.row.configuration, r.row.family)][1] += 1
        tally[(r.row.configuration, r.row.family)][0] += r.passed
    t = Table("config", "family", "pass", "rows", title="IBSI 1 reference rows")
    for (c, fam), (p, n) in tally.items():
        t.add_row(c, fam, str(p), str(n), style=None if p == n else "red")
    console.print(t)
    if failures:
        for r in results:
            if not r.passed:
                console.print(f"FAIL {r.row.configuration} {r.row.family} / {r.row.feature} "
                              f"[{r.row.aggregation_tag or '-'}]: got {r.value}, reference {r.row.value} "
                              f"+/- {r.row.tolerance}")
    passed = sum(r.passed for r in results)
    if chapter2 and configs != ("dig",):
        p2 = ib.run_phase2(reference)
        t2 = Table("filter", "config", "pass", "rows", title="IBSI 2 phase 2 reference rows (filtered CT phantom)")
        by: dict = defaultdict(lambda: [0, 0])
        for row, value, ok in p2:
            by[(row.filter_number, row.configuration)][0] += ok
            by[(row.filter_number, row.configuration)][1] += 1
            if failures and not ok:
                console.print(f"FAIL IBSI2 {row.id}: got {value}, reference {row.value} +/- {row.tolerance}")
        for (n, c), (p, k) in sorted(by.items()):
            t2.add_row(str(n), c, str(p), str(k), style=None if p == k else "red")
        console.print(t2)
    print(f"IBSI1: {passed}/{len(results)} reference rows pass")
    if chapter2 and configs != ("dig",):
        print(f"IBSI2: {sum(ok for _, _, ok in p2)}/{len(p2)} reference rows pass")


@app.command("build-kernels")
def build_kernels(
    out: Path | None = typer.Option(None, help="folder (default: $RADIOMIX_AOT_DIR or the kernels' __pycache__)"),
    force: bool = typer.Option(False, help="build even when the current build exists"),
):
    """Compile the kernels' usual signatures ahead of time for this machine (needs a C compiler; ~20-45 s), so that
    processes whose calls they cover never start numba's compiler. `make` runs this after installing."""
    from radiomix.kernels import aot

    raise typer.Exit(aot.main([*(["--out", str(out)] if out else []), *(["--force"] if force else [])]))


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except RadiomixError as exc:
        print(f"error: {exc}", file=sys.stderr)  # one plain line, greppable in batch logs
        sys.exit(2)


if __name__ == "__main__":
    main()
