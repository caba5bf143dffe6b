"""nbgrader reads this file the normal way; every value comes from course_config.

The settings are built by the same function the instructor's commands use
(``autograder.nbgrader_glue.config.build``). Plain ``nbgrader autograde`` runs nbgrader's own
kernel and every cell; ``python -m autograder grade`` adds the sandbox and the trusted verdict.
"""
from autograder.nbgrader_glue.config import build
from course_config import CONFIG, ROOT

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)
c.merge(build(CONFIG, ROOT, sandbox=False, run_experiments=True))
