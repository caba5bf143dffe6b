import json
import os
import time

import pytest

from autograder.tools import bench_sweeps as bench


def test_bench_prints_the_report_as_its_last_line(capsys):
    # the loop trains 3 of the 4 configurations per sweep; its time is scaled to the whole grid
    report = bench.main(["--grid", "2", "--steps", "4", "--skip-load", "--loop-configs", "3",
                         "--repeats", "2"])
    out = capsys.readouterr().out
    assert "the loop trained 75% of the grid" in out
    assert json.loads(out.strip().splitlines()[-1]) == report
    for name in ("engine", "engine_generic", "vmap", "param_groups", "loop"):
        assert report[f"{name}_s"] > 0 and report[f"{name}_cpu_s"] > 0 and name in out
    for key in ("speedup_vs_vmap", "speedup_vs_loop", "speedup_vs_param_groups", "fraction_of_peak",
                "gflops_cpu", "peak_gflops_cpu", "matmul_ceiling"):
        assert report[key] > 0
    assert report["speedup_vs_vmap"] == pytest.approx(report["vmap_cpu_s"] / report["engine_cpu_s"], rel=1e-3)
    assert report["fraction_of_peak"] == pytest.approx(
        report["workload_gflop"] / report["engine_cpu_s"] / report["peak_gflops_cpu"], rel=1e-3)
    # every approach trains the same models: after 4 steps the losses agree to float32 rounding
    for name in ("engine", "engine_generic", "vmap", "param_groups"):
        assert report[f"loss50_{name}"] < 1e-5
    assert "threads_under_load_ratio" not in report  # --skip-load


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie not yet reaped counts as gone
        return f.read().split()[2] != "Z"


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_background_load_is_started_and_stopped(monkeypatch):
    started = []
    real_popen = bench.subprocess.Popen
    monkeypatch.setattr(bench.subprocess, "Popen", lambda *a, **k: started.append(real_popen(*a, **k))
                        or started[-1])
    with bench.background_load(2):
        assert len(started) == 2 and all(_alive(p.pid) for p in started)
    time.sleep(0.05)
    assert not any(_alive(p.pid) for p in started)


def test_bad_arguments_are_named(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--grid", "1"])
    assert "--grid must be >= 2" in capsys.readouterr().err
