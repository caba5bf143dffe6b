"""autograder.nbmeta: what counts as a notebook handed back without an attempt."""
import nbformat

from autograder import authoring, nbmeta

SOLUTION = "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n"


def released():
    cells = [authoring.setup(""), nbformat.v4.new_code_cell("def f(x):\n    raise NotImplementedError()",
                                                            metadata=authoring.solution(SOLUTION).metadata),
             authoring.answer("why", 1, "Because.")]
    cells[2].source = "YOUR ANSWER HERE"
    return nbformat.v4.new_notebook(cells=cells)


def test_a_notebook_as_released_is_untouched_even_with_outputs_and_new_cells():
    blank = released()
    handed_back = nbformat.from_dict(blank)
    handed_back.cells[0].outputs = [nbformat.v4.new_output("stream", text="ran")]
    handed_back.cells.append(nbformat.v4.new_code_cell("print('scratch')"))
    assert nbmeta.untouched(handed_back, blank)


def test_any_answer_changed_is_an_attempt():
    blank = released()
    coded = nbformat.from_dict(blank)
    coded.cells[1].source = "def f(x):\n    return x"
    written = nbformat.from_dict(blank)
    written.cells[2].source = "The sum only grows."
    assert not nbmeta.untouched(coded, blank) and not nbmeta.untouched(written, blank)


def test_answer_cells_deleted_or_a_notebook_without_answers_is_not_untouched():
    blank = released()
    stripped = nbformat.from_dict(blank)
    stripped.cells = stripped.cells[:1]  # the answer cells deleted: graded (and scored) as it is
    assert not nbmeta.untouched(stripped, blank)
    empty = nbformat.v4.new_notebook(cells=[])
    assert not nbmeta.untouched(empty, empty)
