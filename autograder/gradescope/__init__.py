"""Gradescope: the course's own grading pipeline packaged as a Gradescope autograder.

``build`` writes the autograder zip (``python -m autograder gradescope``), ``run`` is what the
zip's ``setup.sh`` and ``run_autograder`` call inside Gradescope's container, and ``results``
turns the course's report model into Gradescope's results.json. Every point comes from the
trusted verdict (``steps.grade``); nothing here decides a score.
"""
