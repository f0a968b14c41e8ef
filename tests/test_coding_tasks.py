"""Coding tasks: the reference scores full marks, every buggy implementation in
tests/buggy scores below full with its mistake named, public tests pass for the
reference and fail for the starter, and nothing hidden reaches the student."""

from __future__ import annotations

import re

import numpy as np
import pytest
from buggy.bugs import BUGS, Bug
from coding_support import StandInSandbox, StandInSession, grade, variant

from backproplab.grade import code
from backproplab.tasks import catalog
from backproplab.grade.code import forbidden_imports
from backproplab.tasks.catalog import autograder, hidden_checks
from backproplab.tasks.compare import mismatch, rel_error
from backproplab.paths import data_dir
from backproplab.problems import coding

TASKS = catalog.task_ids()
SEEDS = range(12)


@pytest.mark.parametrize("task", TASKS)
def test_reference_scores_full_marks(task):
    for seed in SEEDS:
        v = variant(task, seed)
        result = grade(task, v.code.solution, seed=seed * 7919 + 1)
        assert result.error is None
        wrong = [(c.name, c.message) for c in result.checks if c.score != 1.0]
        assert not wrong and result.score == result.points, (seed, wrong)


def _buggy_source(bug: Bug) -> str:
    source = coding.solution_code(bug.task)
    for old, new in bug.edits:
        assert source.count(old) == 1, f"{bug.id}: {old!r} occurs {source.count(old)} times"
        source = source.replace(old, new)
    return source


@pytest.mark.parametrize("bug", BUGS, ids=[b.id for b in BUGS])
def test_buggy_implementation_loses_points_and_is_named(bug):
    for seed in (3, 4, 5):
        result = grade(bug.task, _buggy_source(bug), seed=seed)
        assert result.score < result.points, f"{bug.id} scored full marks"
        said = [c.misconception or "" for c in result.checks] + [c.message for c in result.checks]
        assert any(bug.names in s for s in said), (bug.id, [(c.name, c.message) for c in result.checks if c.score < 1])


def test_corpus_covers_every_misconception_the_issue_lists():
    required = {"sign flipped", "scaled by N", "scaled by 1/N", "factor 2", "transposed gradient",
                "bias gradient not summed over the batch", "σ′ from the pre-activation", "tanh′ as 1−z²",
                "Adam t off by one", "no bias correction", "momentum conventions mixed up",
                "gradients accumulated across calls", "one-sided differences"}
    assert required <= {b.names for b in BUGS}


def test_misconception_credit_comes_from_the_assignment():
    bug = next(b for b in BUGS if b.id == "mse_grad_no_two")
    plain = grade(bug.task, _buggy_source(bug), seed=3)
    half = grade(bug.task, _buggy_source(bug), seed=3, credit={"factor 2": 0.5})
    named = [c for c in half.checks if c.misconception == "factor 2"]
    assert named and all(c.score == 0.5 for c in named)
    assert plain.score < half.score < half.points


def test_wrong_forward_does_not_zero_a_consistent_backward():
    # sigmoid with slope 2 in forward and backward: the forward is wrong, the backward consistent with it
    source = coding.solution_code("activations").replace("np.exp(-np.abs(x))", "np.exp(-2 * np.abs(x))")
    source = source.replace("return dout * s * (1.0 - s)", "return 2 * dout * s * (1.0 - s)")
    result = grade("activations", source, seed=9)
    by_name = {c.name: c for c in result.checks}
    assert by_name["sigmoid_forward, hidden case"].score == 0
    backward = by_name["sigmoid_backward, hidden case"]
    assert backward.score == 1.0 and backward.misconception == code.CARRIED_FORWARD
    # and a backward that is wrong both ways gets nothing
    wrong = coding.solution_code("activations").replace("return dout * s * (1.0 - s)", "return 3 * dout * s * (1.0 - s)")
    assert {c.name: c for c in grade("activations", wrong, seed=9).checks}["sigmoid_backward, hidden case"].score == 0


def test_student_errors_and_bad_cells_score_zero_with_a_reason():
    result = grade("clipping", "def clip_by_global_norm(grads, max_norm):\n    return grads[0]\n", seed=1)
    assert result.score == 0 and all(c.message for c in result.checks)
    broken = grade("clipping", "def clip_by_global_norm(:\n", seed=1)
    assert broken.score == 0 and broken.error
    missing = grade("clipping", "x = 1\n", seed=1)
    assert missing.score < missing.points and any("not defined" in c.message for c in missing.checks)


@pytest.mark.parametrize("line", ["import torch", "from jax import numpy as jnp", "import tensorflow.math",
                                  "m = __import__('autograd')", "import importlib; importlib.import_module('sympy')"])
def test_forbidden_shortcuts_score_zero(line):
    source = line + "\n" + coding.solution_code("layers")
    assert forbidden_imports(source)
    result = grade("layers", source, seed=2)
    assert result.score == 0 and "forbidden" in result.error


def test_numpy_only_is_not_forbidden():
    assert forbidden_imports("import numpy as np\nfrom numpy.linalg import norm\n# torch would be forbidden\n") == []


class RecordingSandbox(StandInSandbox):
    """The stand-in, remembering everything that was sent into the student process."""

    def __init__(self):
        self.sent: list = []

    def session(self, source):
        self.sent.append(source)
        sandbox = self

        class Recording(StandInSession):
            def call(self, fn, *args, **kwargs):
                sandbox.sent.append(args)
                return super().call(fn, *args, **kwargs)

        return _context(Recording(source))


class _context:
    def __init__(self, value):
        self.value = value

    def __enter__(self):
        return self.value

    def __exit__(self, *exc):
        return False


def _arrays(x) -> list[np.ndarray]:
    if isinstance(x, np.ndarray):
        return [x]
    if isinstance(x, dict):
        return [a for v in x.values() for a in _arrays(v)]
    if isinstance(x, (list, tuple)):
        return [a for v in x for a in _arrays(v)]
    return []


@pytest.mark.parametrize("task", TASKS)
def test_no_expected_value_or_test_source_enters_the_sandbox(task):
    box = RecordingSandbox()
    v = variant(task, 1)
    grade(task, v.code.solution, seed=21, sandbox=box)
    loaded, (source, payload) = box.sent  # the session loads the harness; the cell comes with the calls
    assert loaded == catalog.harness_source() and source == v.code.solution
    autograder_text = (data_dir("autograder") / f"{task}.py").read_text()
    assert "def checks" not in source and autograder_text not in source
    sent = _arrays(payload)
    for check in hidden_checks(task, 21):
        inputs = _arrays(check.call.args)
        for want in _arrays(check.expected):
            if any(a.shape == want.shape and np.array_equal(a, want) for a in inputs):
                continue  # an output equal to an input by construction (clipping below the threshold)
            assert not any(a.shape == want.shape and np.allclose(a, want) for a in sent), check.name


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"-?\d+\.\d{4,}", text))


@pytest.mark.parametrize("task", TASKS)
def test_released_cells_hold_no_hidden_tests_inputs_or_expected_values(task):
    for seed in range(5):
        v = variant(task, seed)
        released = v.statement + v.code.starter + v.code.public_tests
        assert "BEGIN SOLUTION" not in released and "HIDDEN" not in released
        assert "autograder" not in released and "hidden case" not in released
        # no line of the hidden-test module, the harness or the solution bodies
        for name in (f"autograder/{task}.py", "autograder/harness.py"):
            for line in (data_dir(name.split("/")[0]) / name.split("/")[1]).read_text().splitlines():
                if len(line.strip()) > 30 and not line.strip().startswith(('"""', "#")):
                    assert line.strip() not in released, line
        body = coding.solution_code(task).replace(coding.starter_code(task), "")
        for line in set(coding.solution_code(task).splitlines()) - set(v.code.starter.splitlines()):
            if len(line.strip()) > 12:
                assert line not in released, line
        assert body != ""
        # no hidden input or expected value, written the way the public cells write numbers
        hidden = set()
        for check in hidden_checks(task, seed):
            for a in _arrays(check.call.args) + _arrays(check.expected):
                if a.dtype.kind == "f":
                    hidden |= {repr(float(x)) for x in a.ravel()} | {repr(float(x)) for x in np.round(a.ravel(), 3)}
        assert not (_numbers(released) & {h for h in hidden if len(h) > 6}), task


@pytest.mark.parametrize("task", TASKS)
def test_public_tests_pass_for_the_reference_and_fail_for_the_starter(task, capsys):
    v = variant(task, 4)
    exec(compile(v.code.solution + "\n" + v.code.public_tests, "<public>", "exec"), {})
    assert "All public tests passed." in capsys.readouterr().out
    with pytest.raises(AssertionError, match="not implemented"):
        exec(compile(v.code.starter + "\n" + v.code.public_tests, "<public>", "exec"), {})


def test_public_tests_catch_a_bug_with_a_readable_message():
    v = variant("layers", 4)
    bug = next(b for b in BUGS if b.id == "affine_db_not_summed")
    with pytest.raises(AssertionError, match=r"affine_backward\(.*\): item 2: returned shape"):
        exec(compile(_buggy_source(bug) + "\n" + v.code.public_tests, "<public>", "exec"), {})


def test_statement_states_the_conventions():
    assert "1/N" in variant("losses", 0).statement
    assert "v <- beta * v + grad" in variant("optimizers", 0).statement
    assert "t + 1" in variant("optimizers", 0).statement
    assert "(N, D)" in variant("layers", 0).statement


def test_hidden_inputs_depend_on_the_seed_and_are_reproducible():
    a, b, again = hidden_checks("network", 1), hidden_checks("network", 2), hidden_checks("network", 1)
    assert not np.array_equal(a[0].call.args[0], b[0].call.args[0])
    assert np.array_equal(a[0].call.args[0], again[0].call.args[0])


def test_mismatch_checks_shape_dtype_and_finiteness():
    want = np.array([1.0, 2.0])
    assert mismatch(want.copy(), want, 1e-7) is None
    assert "shape" in mismatch(want.reshape(2, 1), want, 1e-7)
    assert "dtype" in mismatch(want.astype(np.float32), want, 1e-7)
    assert "finite" in mismatch(np.array([1.0, np.nan]), want, 1e-7)
    assert "relative error" in mismatch(want * (1 + 1e-5), want, 1e-7)
    assert mismatch(want * (1 + 1e-9), want, 1e-7) is None
    assert "expected a float" in mismatch("1.0", 1.0, 1e-7)
    assert rel_error(np.array([0.0, 1e-12]), np.array([0.0, 0.0])) < 1e-3  # tiny values are not amplified


def test_every_task_has_a_solution_module_with_its_functions():
    for task in TASKS:
        sol = catalog.solution(task)
        assert all(callable(getattr(sol, fn)) for fn in autograder(task).FUNCTIONS)
    chapters = {catalog.autograder(t).CHAPTER for t in TASKS}
    assert chapters == {1, 2, 3, 4, 5, 6}


@pytest.mark.slow
def test_real_sandbox_grades_reference_and_bugs():
    from backproplab.grade.sandbox import Sandbox

    box = Sandbox()
    try:
        for task in TASKS:
            result = grade(task, variant(task, 2).code.solution, seed=17, sandbox=box)
            assert result.score == result.points, [(c.name, c.message) for c in result.checks if c.score < 1]
        for bug in BUGS:
            result = grade(bug.task, _buggy_source(bug), seed=3, sandbox=box)
            said = [c.misconception or "" for c in result.checks] + [c.message for c in result.checks]
            assert result.score < result.points and any(bug.names in s for s in said), bug.id
        # an import the static scan cannot see is stopped by the sandbox, and still scores 0
        sneaky = "exec('imp' + 'ort tor' + 'ch')\n" + coding.solution_code("clipping")
        assert grade("clipping", sneaky, seed=3, sandbox=box).score == 0
    finally:
        box.close()


def test_run_pair_reports_pass_and_failure_readably():
    from backproplab.student.check import run_pair

    v = variant("clipping", 1)
    ok = run_pair("p9", v.code.solution, v.code.public_tests)
    assert ok.passed and "All public tests passed." in ok.output
    bad = run_pair("p9", v.code.starter, v.code.public_tests)
    assert not bad.passed and "not implemented yet" in bad.output


def test_one_cell_tampering_with_the_shared_process_costs_no_other_task_points():
    """A submission's tasks share a sandbox session; a cell that breaks numpy for the
    whole process still leaves every other task the score it earns on its own."""
    from backproplab.grade.sandbox import Sandbox

    vandal = "import numpy as np\nnp.sum = lambda *a, **k: 0.0\nnp.mean = lambda *a, **k: 0.0\n"
    with Sandbox() as box, code.TaskRunner(box) as runner:
        first = grade("clipping", vandal + coding.solution_code("clipping"), seed=3, sandbox=runner)
        assert first.score < first.points  # the vandal's own task is graded with numpy broken
        for task in ("losses", "layers", "network"):
            assert not runner.fresh  # it runs after another cell, in the same session
            result = grade(task, variant(task, 2).code.solution, seed=17, sandbox=runner)
            assert result.score == result.points, [(c.name, c.message) for c in result.checks if c.score < 1]
