import threading
import time

import pytest
import torch

from wdlab import threads


def test_workers_follow_the_idle_cores():
    cores = threads.usable_cores()
    assert threads.workers_for(64, free=0.3) == 1  # a busy machine: one worker
    assert threads.workers_for(64, free=1.6) == min(cores, 2)
    assert threads.workers_for(64, free=64.0) == cores  # never more than this process may use
    assert threads.workers_for(3, min_items=2, free=8.0) == 1  # too little work to share
    assert threads.workers_for(1, free=8.0) == 1
    with pytest.raises(ValueError, match="items and min_items must be positive"):
        threads.workers_for(0)


def test_idle_cores_is_a_share_of_the_machine():
    free = threads.idle_cores(sample_s=0.01)
    assert 0.0 <= free <= (threads.os.cpu_count() or 1)


def test_intra_op_threads_nest_and_restore():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with threads.intra_op_threads(1):
            assert torch.get_num_threads() == 1
            with threads.intra_op_threads(1):
                assert torch.get_num_threads() == 1
            assert torch.get_num_threads() == 1  # the outer block is still open
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError, match="positive number of threads"):
        with threads.intra_op_threads(0):
            pass


def test_side_by_side_keeps_order_and_runs_concurrently():
    running, peak, lock = [0], [0], threading.Lock()

    def task(i):
        def run():
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            time.sleep(0.05)
            with lock:
                running[0] -= 1
            return i
        return run

    assert threads.side_by_side([task(i) for i in range(4)], workers=2) == [0, 1, 2, 3]
    assert peak[0] == 2
    assert threads.side_by_side([task(7)], workers=4) == [7]

    def fails():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        threads.side_by_side([task(0), fails], workers=2)
