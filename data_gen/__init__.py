"""The course's synthetic datasets (ships to students)."""
from .classification import PRESETS, Split, make_classification
from .regression import Regression, make_regression, ridge_solution

__all__ = ["PRESETS", "Regression", "Split", "make_classification", "make_regression", "ridge_solution"]
