"""The visible checks judge only the function under them: with one typical mistake in an otherwise
correct notebook, only that function's check fails, with an AssertionError that says what differs,
and every other check passes silently (nothing on stderr, which would cost points in nbgrader)."""
import pytest

from autograder.tools.submissions import FUNCTIONS

from .mistakes import ALL, FIVE, mistake, notebook_of, run, variant

NOTEBOOKS_WITH_MISTAKES = sorted({notebook_of(fn) for fn, _, _ in ALL})


@pytest.fixture(scope="module")
def outcomes():
    """{(stem, label): {grade_id: Outcome}} for the correct notebook and every mistake, one kernel
    per notebook."""
    found = {}
    for stem in NOTEBOOKS_WITH_MISTAKES:
        variants = {"correct": variant(stem)}
        variants.update({f"{fn}:{name}": variant(stem, fn, source) for fn, name, source in ALL
                         if notebook_of(fn) == stem})
        for label, cells in run(stem, variants).items():
            found[stem, label] = cells
    return found


@pytest.mark.slow
@pytest.mark.parametrize("stem", NOTEBOOKS_WITH_MISTAKES)
def test_every_check_passes_silently_on_independent_correct_answers(stem, outcomes):
    cells = outcomes[stem, "correct"]
    assert set(cells) == {f"test_{fn}" for fn in FUNCTIONS[stem]}
    assert all(c.passed for c in cells.values()), {k: (c.error, c.stderr) for k, c in cells.items()}


@pytest.mark.slow
@pytest.mark.parametrize("function, name", [(fn, name) for fn, name, _ in ALL], ids=lambda x: x)
def test_a_mistake_fails_its_own_check_and_no_other(function, name, outcomes):
    cells = outcomes[notebook_of(function), f"{function}:{name}"]
    blamed = {gid: c.error or c.stderr for gid, c in cells.items()
              if gid != f"test_{function}" and not c.passed}
    assert not blamed, f"{function}:{name} made correct functions fail: {blamed}"
    own = cells[f"test_{function}"]
    assert own.error.startswith("AssertionError: "), f"{function}:{name}: {own.error or 'passed'}"
    message = own.error.removeprefix("AssertionError: ")
    # A message a student can act on: what was compared and the measured difference, or what the
    # function did to its inputs, or which dtype it should have kept.
    assert any(word in message for word in ("largest difference", "in place", "expected")), message


def test_the_five_documented_mistakes_are_in_the_table():
    for function, name in FIVE:
        assert mistake(function, name)
