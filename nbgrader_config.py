"""nbgrader reads this file the normal way; every value comes from course_config.

nbgrader's own apps -- the formgrader's buttons, ``nbgrader autograde`` -- grade the way
``python -m autograder grade`` does: the sandboxed kernel, experiments skipped, and the trusted
verdict written over nbgrader's in-kernel scores after each submission
(``autograder.nbgrader_glue.config.for_nbgrader_apps``). Use ``make formgrader`` to open it.
"""
from autograder.nbgrader_glue.config import for_nbgrader_apps
from course_config import CONFIG, ROOT

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)
c.merge(for_nbgrader_apps(CONFIG, ROOT))
