import threading

import pytest

from wdlab import progress


def test_report_to_receives_every_update_from_several_threads():
    seen = []
    with progress.report_to(lambda done, total: seen.append((done, total))):
        bar = progress.progress_bar(200, False, "steps")  # reported even when not enabled
        workers = [threading.Thread(target=lambda: [bar.update(1) for _ in range(100)]) for _ in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        bar.close()
    assert seen[0] == (0, 200) and seen[-1] == (200, 200)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)  # serialised: never goes back
    assert isinstance(progress.progress_bar(5, False, "steps"), progress._NoBar)  # the block ended


def test_report_to_needs_a_function():
    with pytest.raises(ValueError, match="callback must be a function"):
        with progress.report_to("bar"):
            pass
