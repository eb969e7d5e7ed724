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
from radiomix.cli_dicom import app as dicom_app  # noqa: E402

app.add_typer(dicom_app, name="dicom")
# Each area registers its own commands from its own module (heavy imports stay inside the commands).
from radiomix import cli_filter, cli_map, cli_models, cli_report, cli_robustness, cli_segment  # noqa: E402

for _module in (cli_filter, cli_map, cli_models, cli_report, cli_robustness, cli_segment):
    _module.register(app)
# tables keep their full width in logs and pipes (rich would cut them to 80 columns there)
console = Console(width=None if sys.stdout.isatty() else 200)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


def _settings(preset_name: str | None, settings_file: Path | None):
    from radiomix.settings import load_settings, preset

    if (preset_name is None) == (settings_file is None):
        raise typer.BadParameter("give exactly one of --preset NAME or --settings FILE")
    return preset(preset_name) if preset_name else load_settings(settings_file)


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
):
    """Extract features of one ROI."""
    import pandas as pd

    from radiomix.extract import extract as run_extract
    from radiomix.io import read_image, read_mask

    s = _settings(preset, settings)
    img = read_image(image)
    fs = run_extract(img, read_mask(mask, label=label, image=img, roi=roi), s)
    if format == "wide":
        df = pd.DataFrame([fs.to_wide()])
    elif format == "long":
        df = fs.to_long()
    else:
        raise typer.BadParameter("--format must be wide or long")
    write_table(df, out)


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
):
    """Extract features for a cohort. Exit code 0: all cases done; 1: some failed (see failures.parquet);
    2: bad arguments or settings."""
    from radiomix.batch import extract_batch

    s = _settings(preset, settings)
    res = extract_batch(manifest, s, out, jobs=jobs, dask=dask, resume=resume, csv=csv,
                        memory_limit_mb=memory_limit_mb)
    n = len(res.statuses)
    skipped = sum(st.get("status") == "skipped" for st in res.statuses)
    err_console.print(f"{n} cases: {n - res.n_failed_cases - skipped} extracted, {skipped} skipped (resume), "
                      f"{res.n_failed_cases} failed; results in {res.out_dir}")
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


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except RadiomixError as exc:
        print(f"error: {exc}", file=sys.stderr)  # one plain line, greppable in batch logs
        sys.exit(2)


if __name__ == "__main__":
    main()
