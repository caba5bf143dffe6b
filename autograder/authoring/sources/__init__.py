"""Python sources of the solution notebooks: ``python -m autograder.authoring.sources.<name>`` rewrites
solutions/<assignment>/<notebook>.ipynb (see autograder.authoring for the cell helpers)."""
