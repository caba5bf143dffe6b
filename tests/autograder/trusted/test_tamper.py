"""Tamper scan: honest configuration and file names pass; patching and grader paths are flagged."""
import nbformat

from autograder.trusted import tamper


def _reasons(*sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    return tamper.tamper_reasons(nb)


def test_configuration_attributes_and_settings_are_not_patching():
    assert _reasons(
        "import numpy as np\nimport torch\n"
        "torch.backends.cudnn.deterministic = True\n"
        "torch.backends.cudnn.benchmark = False\n"
        "torch.backends.cuda.matmul.allow_tf32 = False\n"
        "torch.backends.cudnn.allow_tf32 = False\n"
        "np.random.seed(0)\ntorch.manual_seed(0)\ntorch.set_printoptions(precision=3)\n"
        "setattr(torch.backends.cudnn, 'deterministic', True)\n") == []


def test_file_names_with_ordinary_words_are_not_grader_paths():
    assert _reasons(
        "plt.savefig('reference_run.png')\nplt.savefig('figures/reference_run.png')\n"
        "open('my_reference.csv')\nopen('results/my_reference.csv')\n"
        "np.save('runs/submitted_lr_0.1.npy', x)\nplt.savefig('plots/solutions_compared.pdf')\n"
        "torch.save(model, 'checkpoints/autograded_ok.pt')\nopen('notes/reference/README.md')\n"
        "results = sqlite3.connect('experiments/results.db')\n") == []


def test_replacing_functions_the_grading_relies_on_is_flagged():
    reasons = " | ".join(_reasons(
        "import torch\ntorch.allclose = lambda *a, **k: True\n",
        "import builtins\nbuiltins.abs = lambda x: x\n",
        "import torch as T\nT.testing.assert_close = lambda *a, **k: None\n",
        "from numpy import testing\ntesting.assert_allclose = lambda *a, **k: None\n",
        "import numpy as np\nsetattr(np, 'isclose', lambda *a, **k: True)\n",
        "import math\nmath.isclose = lambda *a, **k: True\n"))
    for sign in ("torch.allclose", "builtins.abs", "torch.testing.assert_close",
                 "numpy.testing.assert_allclose", "numpy.isclose", "math.isclose"):
        assert sign in reasons, sign


def test_replacing_a_module_and_editing_sys_modules_are_flagged():
    reasons = " | ".join(_reasons(
        "import sys\nsys.modules['numpy.testing'] = type(sys)('numpy.testing')\n",
        "import numpy as np\nnp.testing = None\n"))
    assert "edits sys.modules" in reasons
    assert "replaces np.testing (numpy.testing)" in reasons


def test_grader_places_and_parent_folders_are_flagged():
    for source in ("open('../../.course_state/gradebook.db', 'ab')",
                   "glob.glob('/srv/course/**/gradeb*', recursive=True)",
                   "open('/home/ta/course/solutions/wd/01.ipynb')",
                   "os.listdir('autograder/reference')",
                   "glob.glob('/srv/**/autograded/*/*.ipynb')",
                   "shutil.copy(x, 'submitted/alice/')",
                   "open('..\\\\..\\\\secrets.txt')",
                   "glob.glob('../../**')"):
        assert _reasons(source), source
    assert any("parent folders" in r for r in _reasons("open('..\\\\..\\\\secrets.txt')"))


def test_hiding_the_notebooks_errors_is_flagged():
    """A failing test cell scores 0 in nbgrader because its error reaches the output: a
    submission that swallows errors or stderr fakes passes in its own kernel."""
    cases = {
        "import sys\nsys.excepthook = lambda *a: None\n": "sys.excepthook",
        "import sys, io\nsys.stderr = io.StringIO()\n": "sys.stderr",
        "import sys as s\ns.tracebacklimit = 0\n": "sys.tracebacklimit",
        "get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)\n": "custom exception",
        "ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\n": "showtraceback",
        "import contextlib, io\nwith contextlib.redirect_stderr(io.StringIO()):\n    pass\n": "stderr",
        "from contextlib import redirect_stderr\nredirect_stderr(None).__enter__()\n": "stderr",
        "import os\nos.dup2(os.open(os.devnull, os.O_WRONLY), 2)\n": "file descriptor 2",
    }
    for source, sign in cases.items():
        assert sign in " | ".join(_reasons(source)), source


def test_printing_and_capturing_stdout_are_not_tampering():
    assert _reasons("import sys, contextlib, io\nprint('x', file=sys.stderr)\nsys.stdout.flush()\n"
                    "with contextlib.redirect_stdout(io.StringIO()) as buf:\n    print(1)\n") == []
