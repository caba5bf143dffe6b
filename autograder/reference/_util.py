"""Small helpers shared by the reference rules."""


def nonzero(x):
    """False only for a plain scalar zero: a tensor of per-configuration values counts as set."""
    return not (isinstance(x, (int, float)) and x == 0)
