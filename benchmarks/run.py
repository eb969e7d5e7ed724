"""Side-by-side benchmark: radiomix against PyRadiomics, MIRP, Nyxus and flash-radiomics on the same phantoms.

Each (task, case, tool) runs ``--repeats`` times, each time in a fresh process (``benchmarks/peers/<tool>_case.py``,
radiomix with this interpreter, the peers with ``.bench-venv/bin/python``, see ``setup_peers.sh``). Recorded per run:
process wall time (start-up, imports, reading and extraction), reading time, extraction time with image and mask in
memory, CPU time and peak RSS of the child (VmHWM, reported by the runner). For radiomix the first extraction in the process
(cold: numba cache loading/compilation included) and a second one (warm) are both timed.

Writes ``bench-output/benchmark.json`` (every run) and ``bench-output/benchmark.md`` (medians, ratios against
radiomix, hardware and load). A peer that is not installed, cannot run a task, fails or times out is recorded with
the reason; the run goes on.

Usage: ``python benchmarks/run.py [--quick] [--repeats N] [--tools radiomix,pyradiomics,...] [--cases ...]
[--tasks original,filters,voxel] [--timeout S]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import phantoms

OUT = ROOT / "bench-output"
PEER_PY = ROOT / ".bench-venv" / "bin" / "python"
TOOLS = {  # name -> runner script
    "radiomix": "radiomix_case.py",
    "pyradiomics": "pyradiomics_case.py",
    "mirp": "mirp_case.py",
    "nyxus": "nyxus_case.py",
    "flash": "flash_case.py",
}
#: task -> cases it runs on (full run / --quick)
PLAN = {
    "original": (("small", "medium", "large", "ibsi_ct"), ("small", "ibsi_ct")),
    "filters": (("small", "medium"), ("small",)),
    "voxel": (("voxel",), ("voxel",)),
}


def hardware() -> dict:
    """CPU model, cores, RAM and load average of this machine."""
    model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem = next(int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
                   if ln.startswith("MemTotal"))
        ram_gb = round(mem / 2**20, 1)
    except (OSError, StopIteration):
        ram_gb = None
    return {"cpu": model, "cores": os.cpu_count(), "ram_gb": ram_gb, "load_avg": [round(v, 2) for v in os.getloadavg()],
            "python": platform.python_version(), "platform": platform.platform()}


def run_one(tool: str, task: str, case: str, paths: dict, timeout: float) -> dict:
    """One fresh process; returns the runner's JSON record plus wall_s, child_cpu_s and child_maxrss_mb."""
    py = sys.executable if tool == "radiomix" else str(PEER_PY)
    base = {"tool": tool, "task": task, "case": case}
    if tool != "radiomix" and not PEER_PY.exists():
        return {**base, "status": "not installed", "reason": "run benchmarks/setup_peers.sh"}
    cmd = [py, str(HERE / "peers" / TOOLS[tool]), "--case", case, "--image", paths["image"], "--mask",
           paths["mask"], "--task", task] + (["--warm"] if tool == "radiomix" else [])
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(OUT))
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {**base, "status": "timeout", "reason": f"over {timeout:.0f} s", "wall_s": round(timeout, 1)}
    wall = time.perf_counter() - t0
    rec = None
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            try:
                rec = json.loads(line)
                break
            except json.JSONDecodeError:
                pass
    if rec is None:
        tail = " | ".join(stderr.strip().splitlines()[-3:])[:400]
        return {**base, "status": "error", "reason": f"exit {proc.returncode}: {tail}", "wall_s": round(wall, 3)}
    rec["wall_s"] = round(wall, 3)
    if paths.get("roi_voxels"):
        rec["roi_voxels"] = paths["roi_voxels"]
    return rec


def median(recs, key):
    vals = [r[key] for r in recs if r.get("status") == "ok" and r.get(key) is not None]
    return statistics.median(vals) if vals else None


def summarise(records: list[dict]) -> list[dict]:
    """One row per (task, case, tool): medians and ratios against radiomix (>1: radiomix is faster / smaller)."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r["task"], r["case"], r["tool"]), []).append(r)
    rows = []
    for (task, case, tool), recs in groups.items():
        ok = [r for r in recs if r.get("status") == "ok"]
        row = {"task": task, "case": case, "tool": tool, "runs": len(recs), "ok": len(ok),
               "status": "ok" if ok else recs[-1].get("status"), "reason": "" if ok else recs[-1].get("reason", ""),
               "version": next((r.get("version") for r in recs if r.get("version")), ""),
               "wall_s": median(recs, "wall_s"), "read_s": median(recs, "read_s"),
               "extract_s": median(recs, "extract_s"), "extract_warm_s": median(recs, "extract_warm_s"),
               "cpu_s": median(recs, "cpu_s"), "maxrss_mb": median(recs, "maxrss_mb"),
               "n_values": median(recs, "n_values"), "roi_voxels": median(recs, "roi_voxels")}
        # extraction alone: radiomix warm (cold shown beside it); peers: their extraction in a fresh process
        row["extract_alone_s"] = row["extract_warm_s"] if tool == "radiomix" else row["extract_s"]
        row["extract_cpu_s"] = median(recs, "extract_warm_cpu_s" if tool == "radiomix" else "extract_cpu_s")
        rows.append(row)
    ref = {(r["task"], r["case"]): r for r in rows if r["tool"] == "radiomix" and r["status"] == "ok"}
    for r in rows:
        rm = ref.get((r["task"], r["case"]))
        for key, out in (("extract_alone_s", "x_extract"), ("wall_s", "x_wall"), ("extract_cpu_s", "x_cpu"),
                         ("maxrss_mb", "x_rss")):
            if rm and r.get(key) and rm.get(key):
                r[out] = round(r[key] / rm[key], 2)
    order = {t: i for i, t in enumerate(TOOLS)}
    return sorted(rows, key=lambda r: (list(PLAN).index(r["task"]), r["case"], order.get(r["tool"], 99)))


def _f(v, nd=3):
    return "" if v is None else (f"{v:.{nd}f}" if isinstance(v, float) else str(v))


PEERS = ("pyradiomics", "mirp", "nyxus", "flash-radiomics")
#: the synthetic phantoms whose cost per ROI voxel is compared (their ROI sizes come from phantoms.py)
SIZE_CASES = ("small", "medium", "large")


def _ratio(a, b):
    return None if a is None or b is None or not b else a / b


def _verdict(items, ok) -> str:
    """"yes" when every (name, value) passes ``ok``, else which ones do."""
    met = [name for name, value in items if ok(value)]
    return "yes" if len(met) == len(items) else (f"no ({', '.join(met)} only)" if met else "no")


def targets(rows: list[dict]) -> list[tuple[str, str, str]]:
    """The issue's targets, each with what this run measured and whether it is met: (target, measured, met)."""
    by = {(r["task"], r["case"], r["tool"]): r for r in rows if r["status"] == "ok"}
    out: list[tuple[str, str, str]] = []

    def rm(task, case):
        return by.get((task, case, "radiomix"))

    def peers(task, case):
        return [by[(task, case, t)] for t in PEERS if (task, case, t) in by]

    cases = sorted({c for (t, c, _) in by if t == "original"}, key=lambda c: (c not in SIZE_CASES, c))
    fast, e2e = [], []
    for c in cases:
        r, ps = rm("original", c), peers("original", c)
        if not r or not ps:
            continue
        best = min(ps, key=lambda p: p["extract_alone_s"])
        x = _ratio(best["extract_alone_s"], r["extract_alone_s"])
        fast.append((c, best["tool"], x))
        quickest = min(ps, key=lambda p: p["wall_s"])
        e2e.append((c, quickest["tool"], _ratio(quickest["wall_s"], r["wall_s"])))
    if fast:
        out.append(("original: extraction >= 10x the fastest peer, every phantom",
                    ", ".join(f"{c} {x:.1f}x ({t})" for c, t, x in fast),
                    _verdict([(c, x) for c, _, x in fast], lambda x: x >= 10)))
    if e2e:
        out.append(("original: faster than every peer end to end (fresh process, reading included)",
                    ", ".join(f"{c} {x:.2f}x ({t})" for c, t, x in e2e),
                    _verdict([(c, x) for c, _, x in e2e], lambda x: x > 1)))
    r, p = rm("original", "large"), by.get(("original", "large", "pyradiomics"))
    if r and p:
        x = _ratio(p["extract_alone_s"], r["extract_alone_s"])
        out.append(("original: >= 20x PyRadiomics on the large phantom", f"{x:.1f}x", "yes" if x >= 20 else "no"))
    for c in sorted({c for (t, c, _) in by if t == "filters"}):
        r, p = rm("filters", c), by.get(("filters", c, "pyradiomics"))
        if r and p:
            x, m = _ratio(p["extract_alone_s"], r["extract_alone_s"]), _ratio(p["maxrss_mb"], r["maxrss_mb"])
            out.append((f"LoG + wavelet ({c}): >= 10x PyRadiomics, <= 1/4 of its peak memory",
                        f"{x:.1f}x, memory 1/{m:.1f} ({r['maxrss_mb']:.0f} vs {p['maxrss_mb']:.0f} MB)",
                        "yes" if x >= 10 and m >= 4 else "no"))
    r, p = rm("voxel", "voxel"), by.get(("voxel", "voxel", "pyradiomics"))
    if r and p:
        x = _ratio(p["extract_alone_s"], r["extract_alone_s"])
        out.append(("voxel-wise map: >= 100x PyRadiomics", f"{x:.0f}x", "yes" if x >= 100 else "no"))
    lin = [(c, r) for c in SIZE_CASES if (r := rm("original", c)) and r.get("roi_voxels")]
    if len(lin) >= 2:
        per = [(c, r["extract_alone_s"] / r["roi_voxels"] * 1e6) for c, r in lin]
        out.append(("cost linear in ROI voxels (radiomix warm extraction per ROI voxel)",
                    ", ".join(f"{c} {v:.2f} us" for c, v in per),
                    "yes" if max(v for _, v in per[1:]) <= 2 * per[0][1] else "no"))
    cold = [(f"{t}/{c}", _ratio(r["extract_s"], r["extract_warm_s"])) for (t, c, tool), r in sorted(by.items())
            if tool == "radiomix" and r.get("extract_s") and r.get("extract_warm_s")]
    if cold:
        out.append(("first extraction in a fresh process within 2x of a warm one",
                    ", ".join(f"{k} {x:.1f}x" for k, x in cold), _verdict(cold, lambda x: x <= 2)))
    return out


def markdown(rows: list[dict], hw: dict, meta: dict) -> str:
    per_tool = "".join(f", {t}: {n}" for t, n in meta.get("tool_repeats", {}).items())
    head = (f"Machine: {hw['cpu']}, {hw['cores']} cores, {hw['ram_gb']} GB RAM; load average at start "
            f"{hw['load_avg']}, at end {meta['load_end']}; Python {hw['python']}. Repeats: {meta['repeats']}"
            f"{per_tool} (medians){' (--quick)' if meta['quick'] else ''}. Wall time of the whole run: "
            f"{meta['elapsed_s']:.0f} s.")
    legend = ("`wall` = fresh process: start-up, imports, reading, extraction. `extract` = extraction with image and "
              "mask in memory (radiomix: warm, second call in the process; `cold` = its first call; MIRP and Nyxus "
              "read the files inside their API, so theirs include reading). `extract cpu` = CPU seconds (user + "
              "system, all threads) of that extraction, less sensitive to the machine's load than wall times. `x` "
              "columns: the tool's value / radiomix's (above 1: radiomix is faster or smaller).")
    lines = [f"# radiomix benchmark ({meta['date']})", "", head, "", legend, ""]
    goals = targets(rows)
    if goals:
        lines += ["## Targets", "", "| target | measured | met? |", "|---|---|---|"]
        lines += [f"| {t} | {m} | {ok} |" for t, m, ok in goals] + [""]
    for task in PLAN:
        trows = [r for r in rows if r["task"] == task]
        if not trows:
            continue
        lines += [f"## {task}", "", ("| case | tool | version | status | values | wall s | extract s | cold s | "
                                     "extract cpu s | peak RSS MB | x extract | x wall | x cpu | x RSS |"),
                  "|" + "---|" * 14]
        for r in trows:
            st = r["status"] if r["status"] == "ok" else f"{r['status']}: {r['reason']}"
            lines.append(f"| {r['case']} | {r['tool']} | {r['version']} | {st} | {_f(r['n_values'], 0)} | "
                         f"{_f(r['wall_s'])} | {_f(r['extract_alone_s'])} | "
                         f"{_f(r['extract_s']) if r['tool'] == 'radiomix' else ''} | {_f(r['extract_cpu_s'], 2)} | "
                         f"{_f(r['maxrss_mb'], 0)} | {_f(r.get('x_extract'), 1)} | {_f(r.get('x_wall'), 1)} | "
                         f"{_f(r.get('x_cpu'), 1)} | {_f(r.get('x_rss'), 1)} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def write_results(out: Path, records: list[dict], hw: dict, repeats: int, quick: bool, t_start: float,
                  tool_repeats: dict | None = None) -> str:
    """Write benchmark.json and benchmark.md from the runs so far; return the markdown."""
    meta = {"date": dt.datetime.now().isoformat(timespec="seconds"), "repeats": repeats, "quick": quick,
            "elapsed_s": time.perf_counter() - t_start, "load_end": [round(v, 2) for v in os.getloadavg()],
            "tool_repeats": tool_repeats or {}}
    rows = summarise(records)
    (out / "benchmark.json").write_text(json.dumps({"hardware": hw, "meta": meta, "summary": rows, "runs": records},
                                                   indent=1))
    md = markdown(rows, hw, meta)
    (out / "benchmark.md").write_text(md)
    return md


def compile_bytecode() -> bool:
    """Writes radiomix's bytecode (``.pyc``) where it is missing or stale, as pip does when it installs a package.

    The peers are pip-installed with their bytecode; an editable radiomix gets its bytecode only on first import, and
    never where ``PYTHONDONTWRITEBYTECODE`` is set: every fresh process would then compile ~50 modules from source
    (~65 ms on the benchmark machine), a cost no installed radiomix has."""
    import compileall

    package = ROOT / "src" / "radiomix"
    return package.is_dir() and bool(compileall.compile_dir(str(package), quiet=1))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="radiomix vs peers benchmark")
    ap.add_argument("--quick", action="store_true", help="small cases, one repeat")
    ap.add_argument("--repeats", type=int, default=None, help="runs per (task, case, tool); default 3 (quick: 1)")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--tool-repeats", default="",
                    help="per-tool repeat counts overriding --repeats, e.g. mirp=1 (MIRP takes minutes per case)")
    ap.add_argument("--cases", default=None, help="restrict to these cases")
    ap.add_argument("--tasks", default=",".join(PLAN))
    ap.add_argument("--timeout", type=float, default=None, help="seconds per run (default 3600; quick 600)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--merge", nargs="+", type=Path, default=None,
                    help="combine the runs of earlier benchmark JSON files (later files replace the runs of the "
                         "same task, case and tool) into benchmark.md/.json; runs nothing")
    a = ap.parse_args(argv)
    a.out = a.out.resolve()
    a.out.mkdir(parents=True, exist_ok=True)
    if a.merge:
        merged: dict[tuple, list[dict]] = {}
        hw = None
        for path in a.merge:
            data = json.loads(path.read_text())
            hw = hw or data["hardware"]
            groups: dict[tuple, list[dict]] = {}
            for r in data["runs"]:
                groups.setdefault((r["task"], r["case"], r["tool"]), []).append(r)
            merged.update(groups)
        records = [r for recs in merged.values() for r in recs]
        hw = {**hw, "load_avg": f"{hw['load_avg']} (first merged run)"}
        print(write_results(a.out, records, hw, max(r.get("repeat", 0) for r in records) + 1, False,
                            time.perf_counter()))
        return 0
    repeats = a.repeats or (1 if a.quick else 3)
    timeout = a.timeout or (600.0 if a.quick else 3600.0)
    tools = [t.strip() for t in a.tools.split(",") if t.strip()]
    unknown = [t for t in tools if t not in TOOLS]
    if unknown:
        ap.error(f"unknown tools {unknown}; known: {', '.join(TOOLS)}")
    only = set(a.cases.split(",")) if a.cases else None
    per_tool = {k.strip(): int(v) for k, v in (x.split("=") for x in a.tool_repeats.split(",") if x.strip())}
    a.out.mkdir(parents=True, exist_ok=True)
    hw = hardware()
    hw["radiomix_bytecode"] = compile_bytecode()
    t_start = time.perf_counter()
    records: list[dict] = []
    for task in [t.strip() for t in a.tasks.split(",")]:
        cases = [c for c in PLAN[task][1 if a.quick else 0] if only is None or c in only]
        for case, paths in phantoms.cases(cases, a.out / "phantoms").items():
            for tool in tools:
                for k in range(per_tool.get(tool, repeats)):
                    rec = run_one(tool, task, case, paths, timeout)
                    rec["repeat"] = k
                    records.append(rec)
                    print(f"{task:8s} {case:8s} {tool:12s} #{k} {rec.get('status')}: wall {rec.get('wall_s')} s, "
                          f"extract {rec.get('extract_s')} s warm {rec.get('extract_warm_s', '-')} "
                          f"{rec.get('reason', '')}", flush=True)
                    if rec.get("status") in ("unsupported", "not installed", "timeout"):
                        break  # no point repeating
                md = write_results(a.out, records, hw, repeats, a.quick, t_start, per_tool)  # partial results survive
    md = write_results(a.out, records, hw, repeats, a.quick, t_start, per_tool)
    print(md)
    print(f"wrote {a.out / 'benchmark.md'} and benchmark.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
