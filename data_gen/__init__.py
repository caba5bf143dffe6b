"""The course's synthetic datasets (ships to students)."""
from .classification import PRESETS, Split, make_classification
from .regression import Regression, make_regression, ridge_solution
from .sparse import SparseRegression, least_squares, make_sparse_regression

__all__ = ["PRESETS", "Regression", "SparseRegression", "Split", "least_squares", "make_classification",
           "make_regression", "make_sparse_regression", "ridge_solution"]
