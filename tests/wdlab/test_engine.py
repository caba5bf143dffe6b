import platform
import subprocess
import sys

import pytest

# Allocates and frees a few [64, 5632] float tensors (the size of a sweep's parameters) many
# times and prints the minor page faults it caused; argv[1] == "keep" applies the setting first.
FAULTS = """
import resource, sys, torch
from wdlab import engine
if sys.argv[1] == "keep":
    assert engine.keep_freed_memory()
x = torch.ones(64, 5632)
for _ in range(3):
    [x * 2 for _ in range(8)]
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    [x * 2 for _ in range(8)]
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(mode):
    out = subprocess.run([sys.executable, "-c", FAULTS, mode], capture_output=True, text=True,
                         check=True)
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(platform.system() != "Linux", reason="glibc's mallopt is Linux only")
def test_keep_freed_memory_stops_page_faults_from_temporaries():
    default, kept = page_faults("default"), page_faults("keep")
    # 160 temporaries of 1.4 MB: about 350 fresh pages each when every one is a new mapping
    assert default > 10_000
    assert kept < default / 20
