"""nbgrader plugged into the course: ONE config builder, the course's preprocessors, process set-up."""
