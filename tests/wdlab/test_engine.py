import platform
import subprocess
import sys

import pytest

# Allocates a 24 MB tensor (a large sweep's temporaries are of that order) and prints how many
# bytes glibc served from fresh mmap regions, which page-fault on first touch every time, rather
# than from its reusable heap; argv[1] == "keep" applies the engine's setting first.
MAPPED = """
import ctypes, sys, torch
from wdlab import engine

class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks",
                "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Mallinfo2
if sys.argv[1] == "keep":
    assert engine.keep_freed_memory()
before = libc.mallinfo2().hblkhd
x = torch.ones(6 << 20)  # 24 MB of float32
print(libc.mallinfo2().hblkhd - before)
"""


def mapped_bytes(mode):
    out = subprocess.run([sys.executable, "-c", MAPPED, mode], capture_output=True, text=True)
    if out.returncode and "mallinfo2" in out.stderr:
        pytest.skip("this C library has no mallinfo2 (glibc >= 2.33)")
    assert out.returncode == 0, out.stderr
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(platform.system() != "Linux", reason="glibc's mallopt is Linux only")
def test_keep_freed_memory_serves_large_tensors_from_the_reusable_heap():
    assert mapped_bytes("default") >= 24 << 20  # glibc's default: a fresh mapping
    assert mapped_bytes("keep") == 0
