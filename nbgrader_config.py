"""nbgrader reads this file the normal way; every value comes from course_config."""
from pathlib import Path

from course_config import CONFIG, ROOT

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)
state = Path(CONFIG.state_dir)
c.CourseDirectory.course_id = CONFIG.course_id
c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
# Absolute paths: os.path.join(root, abs) keeps them, so student work stays out of the repository.
c.CourseDirectory.submitted_directory = str(state / "submitted")
c.CourseDirectory.autograded_directory = str(state / "autograded")
c.CourseDirectory.feedback_directory = str(state / "feedback")
c.CourseDirectory.db_url = CONFIG.gradebook_url
c.ExecutePreprocessor.timeout = CONFIG.cell_timeout_s
c.ClearSolutions.code_stub = {"python": 'raise NotImplementedError("Replace this line with your code.")'}
