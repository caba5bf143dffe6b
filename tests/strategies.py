"""Shared hypothesis strategies: parameter shapes and optimizer hyperparameters."""
from hypothesis import strategies as st

shapes = st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple)
lrs = st.floats(1e-3, 0.3)
adam_lrs = st.floats(1e-4, 1e-1)
betas = st.floats(0.0, 0.99)
beta2s = st.floats(0.9, 0.9999)
epss = st.floats(1e-10, 1e-6)
decays = st.floats(0.0, 0.1)
seeds = st.integers(0, 2 ** 31 - 1)
