"""`python -m autograder VERB`: the instructor's commands (see autograder/cli.py)."""
import sys

from autograder.cli import main

sys.exit(main())
