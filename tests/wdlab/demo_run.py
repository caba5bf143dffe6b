"""Running a lecture demo notebook headless, as the demo tests do, and judging its images."""
import base64
import io
from pathlib import Path

import nbformat
import numpy as np
from nbclient import NotebookClient
from PIL import Image


def run_demo(path: Path, last_cell: str) -> tuple[nbformat.NotebookNode, str, list[dict]]:
    """Execute the demo at ``path`` with ``last_cell`` (what the lecturer does last) appended;
    returns (executed notebook, all text printed, every PNG output)."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(last_cell))
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not any(o.get("output_type") == "error" for o in outputs)
    text = "".join(o.get("text", "") for o in outputs)
    return nb, text, [o for o in outputs if "image/png" in o.get("data", {})]


def ink(output: dict) -> float:
    """The fraction of an image output's pixels that are not (near) white."""
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(output["data"]["image/png"]))).convert("L"))
    return float((pixels < 250).mean())
