import json

import pytest
import torch

from autograder.tools import bench_sweeps as bench


def test_bench_prints_the_report_as_its_last_line(capsys):
    report = bench.main(["--grid", "2", "--steps", "4", "--threads", "1"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last) == report
    for key in ("loop_s", "batched_s", "speedup", "gflops", "peak_gflops", "fraction_of_peak",
                "batched_cpu_s", "gflops_cpu", "peak_gflops_cpu", "fraction_of_peak_cpu",
                "matmul_ceiling", "loop_cpu_s", "speedup_cpu"):
        assert report[key] > 0
    assert report["threads"] == 1
    assert report["gflops_cpu"] == pytest.approx(report["workload_gflop"] / report["batched_cpu_s"],
                                                 rel=0.05)
    assert report["speedup"] == pytest.approx(report["loop_s"] / report["batched_s"], rel=0.05)
    assert report["max_val_acc_diff"] < 0.01  # batched and loop train the same models (4 steps)


def test_threads_drop_to_one_only_on_a_loaded_machine():
    assert bench.pick_threads(3, load=9.0, cores=2) == 3  # asked for: kept
    assert bench.pick_threads(0, load=2.5, cores=2) == 1
    assert bench.pick_threads(0, load=0.3, cores=2) == torch.get_num_threads()
