"""A caller that has already used OpenMP (a scikit-learn model, torch) can still run a local-pool batch: workers must
not be forked from it (GNU OpenMP terminates such children, which used to fail every case as a worker crash)."""

import subprocess
import sys
import textwrap

from tests.batch.test_batch import make_cohort


def test_local_pool_works_after_the_caller_used_openmp(tmp_path):
    manifest = make_cohort(tmp_path, 3)
    script = textwrap.dedent(f"""
        import numpy as np
        from sklearn.ensemble import HistGradientBoostingClassifier
        rng = np.random.default_rng(0)
        X = rng.normal(size=(400, 5)); y = (X[:, 0] > 0).astype(int)
        HistGradientBoostingClassifier(max_iter=5).fit(X, y)  # starts OpenMP threads in this process
        import numba
        @numba.njit(parallel=True)
        def total(a):
            s = 0.0
            for i in numba.prange(a.size):
                s += a[i]
            return s
        total(np.ones(10_000))  # numba's parallel layer (GNU OpenMP where available) is now in use
        print("LAYER", numba.threading_layer())
        from radiomix import preset
        from radiomix.batch import extract_batch
        res = extract_batch({str(manifest)!r}, preset("ibsi_config_a"),
                            {str(tmp_path / "out")!r}, jobs=2)
        print("FAILED", res.n_failed_cases, len(res.statuses))
    """)
    out = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "FAILED 0 3" in out.stdout, out.stdout + out.stderr[-2000:]
    assert "fork() called" not in out.stderr
