"""dlbook.grading.check / evaluate / summary: one clear verdict per answer, right or wrong."""
from __future__ import annotations

import numpy as np
import pytest
from finite_diff import numeric_grad

from dlbook import grading
from dlbook.grading import check, evaluate, summary
from dlbook.grading.compare import Mismatch, compare_array, name_outputs
from dlbook.grading.registry import UnknownQuestion, chapter_questions, get

torch = pytest.importorskip("torch")

LINEAR_INPUT_1 = "(input 1 of 4: grad_out (4, 3), x (4, 5), weight (3, 5))"


@pytest.fixture(autouse=True)
def fresh_scores():
    grading.reset()
    yield
    grading.reset()


def linear_right(grad_out, x, weight):
    return grad_out @ weight, grad_out.T @ x, grad_out.sum(axis=0)


def linear_transposed(grad_out, x, weight):
    return grad_out @ weight, x.T @ grad_out, grad_out.sum(axis=0)


def linear_mean_bias(grad_out, x, weight):
    return grad_out @ weight, grad_out.T @ x, grad_out.mean(axis=0)


def linear_raises(grad_out, x, weight):
    grad_x = grad_out @ weight.T
    return grad_x


def linear_todo(grad_out, x, weight):
    raise NotImplementedError("write your code here")


def linear_in_place(grad_out, x, weight):
    x -= 1
    return linear_right(grad_out, x + 1, weight)


def linear_float64(grad_out, x, weight):
    return tuple(g.astype(np.float64) for g in linear_right(grad_out, x, weight))


def test_right_answer(capsys):
    result = check("ch01.linear_backward", linear_right)
    assert capsys.readouterr().out == "✔ ch01.linear_backward: passed (3/3 points)\n"
    assert (result.passed, result.points, result.max_points, result.message) == (
        True, 3, 3, "passed")


def test_wrong_shape(capsys):
    result = check("ch01.linear_backward", linear_transposed)
    assert capsys.readouterr().out == (
        "✘ ch01.linear_backward: grad_weight has shape (5, 3), expected (3, 5) "
        f"{LINEAR_INPUT_1}\n")
    assert (result.passed, result.points, result.status) == (False, 0, "failed")


def test_wrong_values(capsys):
    check("ch01.linear_backward", linear_mean_bias)
    out = capsys.readouterr().out
    assert out.startswith("✘ ch01.linear_backward: grad_bias is wrong: max abs error ")
    assert "at index (" in out and "(got " in out and out.endswith(f"{LINEAR_INPUT_1}\n")


def test_student_exception_names_type_message_and_line(capsys):
    result = check("ch01.linear_backward", linear_raises)
    out = capsys.readouterr().out
    assert out.startswith("✘ ch01.linear_backward: ValueError: matmul: ")
    assert "raised at line " in out and "of linear_raises: grad_x = grad_out @ weight.T" in out
    assert "Traceback" not in out and "dlbook/grading" not in out
    assert result.status == "error"


def test_not_implemented(capsys):
    result = check("ch01.linear_backward", linear_todo)
    assert capsys.readouterr().out == "✘ ch01.linear_backward: not implemented yet\n"
    assert result.status == "not implemented" and result.points == 0


def test_modified_input_is_caught(capsys):
    check("ch01.linear_backward", linear_in_place)
    assert "changed its argument x in place" in capsys.readouterr().out


def test_dtype_must_follow_the_input(capsys):
    check("ch01.linear_backward", linear_float64)
    assert ("grad_x has dtype float64, expected float32 (the dtype of the inputs) "
            "(input 4 of 4: grad_out (6, 2), x (6, 4), weight (2, 4))") in capsys.readouterr().out


@pytest.mark.parametrize("answer, message", [
    (3, "expected a function linear_backward(grad_out, x, weight) -> "
        "(grad_x, grad_weight, grad_bias), got an int"),
    (lambda g, x, w: None, "linear_backward returned None, expected 3 values"),
    (lambda g, x, w: (g, x), "linear_backward returned 2 values, expected 3"),
    (lambda g, x, w: (None, None, None), "grad_x is None, expected an array of shape (4, 5)"),
    (lambda g, x, w: tuple(torch.tensor(a) for a in linear_right(g, x, w)),
     "uses torch, which this exercise does not allow"),
])
def test_wrong_kind_of_answer(answer, message):
    assert message in evaluate("ch01.linear_backward", answer).message


def test_hidden_suite_and_summary(capsys):
    check("ch01.linear_backward", linear_right)
    check("ch01.linear_backward", linear_right, suite="hidden")
    assert capsys.readouterr().out.splitlines()[-1] == (
        "✔ ch01.linear_backward (hidden tests): passed (3/3 points)")
    table = summary()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["question", "points", "status"]
    assert "ch01.linear_backward" in lines[2] and "3 / 3" in lines[2]
    assert "passed (public + hidden)" in lines[2]
    assert "not checked" in lines[1]
    assert lines[-1].split() == ["total", "3", "/", "21"]
    assert (table.points, table.max_points) == (3, 21)


def test_failed_hidden_suite_loses_the_points(capsys):
    check("ch01.linear_backward", linear_right)
    check("ch01.linear_backward", linear_todo, suite="hidden")
    assert summary().points == 0


def test_summary_before_any_check(capsys):
    assert summary().rows == ()
    assert capsys.readouterr().out == "No exercise has been checked in this kernel yet.\n"


def test_value_question(capsys):
    assert check("ch00.linear_parameters", 8).passed
    assert not check("ch00.linear_parameters", 6).passed
    assert capsys.readouterr().out.splitlines()[-1] == (
        "✘ ch00.linear_parameters: count is wrong: got 6, expected 8")


def test_result_is_quiet_in_a_notebook_but_prints_as_its_verdict():
    result = evaluate("ch00.relu", lambda x: np.maximum(x, 0))
    assert result._ipython_display_() is None
    assert str(result) == "✔ ch00.relu: passed (1/1 points)"
    assert result.to_dict() == {"question": "ch00.relu", "suite": "public", "status": "passed",
                                "points": 1, "max_points": 1, "message": "passed",
                                "passed": True}


def test_unknown_questions_and_suites():
    with pytest.raises(UnknownQuestion, match="unknown question 'ch01.nope'; ch01 has: "
                                              "ch01.perceptron, ch01.linear_backward"):
        check("ch01.nope", linear_right)
    with pytest.raises(UnknownQuestion, match="no exercises are registered for chapter 'ch77'"):
        check("ch77.x", linear_right)
    with pytest.raises(ValueError, match="suite must be one of"):
        evaluate("ch01.perceptron", linear_right, suite="secret")


def test_compare_array_messages():
    expected = np.arange(6.0).reshape(2, 3)
    compare_array("a", expected + 1e-12, expected)
    for got, message in [
        (expected.T, "a has shape (3, 2), expected (2, 3)"),
        (expected.astype(np.float32), "a has dtype float32, expected float64"),
        (expected + np.eye(2, 3)[::-1] * 0.5,
         "a is wrong: max abs error 0.5 at index (0, 1) (got 1.5, expected 1)"),
        (np.full((2, 3), np.nan), "a contains NaN or inf"),
        ("text", "a is a str, expected an array of shape (2, 3)"),
    ]:
        with pytest.raises(Mismatch, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
            compare_array("a", got, expected)
    with pytest.raises(Mismatch, match="no key 'b'"):
        name_outputs({"a": 1}, ("a", "b"), "f")


# -- the chapter-1 registry: inputs as promised, references independent of the solution ------


def test_ch01_points_and_ids():
    assert [(q.id, q.points) for q in chapter_questions("ch01")] == [
        ("ch01.perceptron", 2), ("ch01.linear_backward", 3), ("ch01.mlp_gradients", 4),
        ("ch01.value_sigmoid", 2), ("ch01.train_mlp", 3), ("ch01.relu_mse_backward", 3),
        ("ch01.largest_stable_rate", 2), ("ch01.find_the_bug", 2)]


@pytest.mark.parametrize("qid", ["ch01.linear_backward", "ch01.mlp_gradients"])
def test_cases_include_a_batch_of_one_and_odd_shapes(qid):
    cases = get(qid).cases("public")
    assert any(len(c.args["x" if "x" in c.args else "X"]) == 1 for c in cases)
    assert get(qid).cases("hidden"), "hidden suite"
    assert [c.describe() for c in cases] == [c.describe() for c in get(qid).cases("public")]




def test_mlp_reference_matches_central_differences():
    q = get("ch01.mlp_gradients")
    case = q.cases("public")[0]
    a = {k: np.array(v) for k, v in case.args.items()}

    def loss():
        z = np.tanh(a["X"] @ a["W1"].T + a["b1"]) @ a["W2"].T + a["b2"]
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return -logp[np.arange(len(a["y"])), a["y"]].mean()

    ref = q.reference(*case.args.values())
    for name in ("W1", "b1", "W2", "b2"):
        np.testing.assert_allclose(ref[name], numeric_grad(loss, a[name]), atol=1e-7)


def test_perceptron_reference_separates_the_separable_case():
    q = get("ch01.perceptron")
    (case,) = [c for c in q.cases("public") if c.meta.get("separable")]
    out = q.reference(*case.args.values())
    X, y = case.args["X"], case.args["y"]
    assert np.all(y * (X @ out["w"] + out["b"]) > 0)
    assert q.requirements[0]({"w": np.zeros(3), "b": 0.0}, case).startswith(
        f"w, b leave {len(y)} of {len(y)} training points on the wrong side")


def test_perceptron_visiting_order_matters():
    def shuffled(X, y, epochs, lr):
        out = get("ch01.perceptron").reference(X[::-1], y[::-1], epochs, lr)
        return out["w"], out["b"]

    assert "w is wrong" in evaluate("ch01.perceptron", shuffled).message


def test_sigmoid_reference_is_the_logistic_function():
    q = get("ch01.value_sigmoid")
    for case in q.cases("public") + q.cases("hidden"):
        x = case.args["x"]
        ref = q.reference(x)
        s = 1 / (1 + np.exp(-x))
        assert abs(ref["value"] - s) < 1e-15 and abs(ref["grad"] - s * (1 - s)) < 1e-15


# -- rules: what an answer may not use, said by check() as the grader says it ----------------


def linear_with_torch(grad_out, x, weight):
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(weight, requires_grad=True)
    (xt @ wt.T).backward(torch.tensor(grad_out))
    return xt.grad.numpy(), wt.grad.numpy(), grad_out.sum(axis=0)


def linear_with_dlbook_nn(grad_out, x, weight):
    from dlbook import nn

    layer = nn.Linear(x.shape[1], weight.shape[0], dtype=x.dtype)
    layer.load_state_dict({"weight": weight, "bias": np.zeros(weight.shape[0], x.dtype)})
    layer(x)
    grad_x = layer.backward(grad_out)
    return grad_x, grad_out.T @ x, grad_out.sum(axis=0)


def linear_with_hidden_import(grad_out, x, weight):
    space: dict = {}
    exec("import tor" + "ch as t", space)  # an import the source does not show
    t = space["t"]
    return (t.tensor(grad_out) @ t.tensor(weight)).numpy(), grad_out.T @ x, grad_out.sum(0)


@pytest.mark.parametrize("answer, used", [(linear_with_torch, "torch"),
                                          (linear_with_dlbook_nn, "dlbook.nn"),
                                          (linear_with_hidden_import, "torch")])
def test_check_refuses_what_the_exercise_forbids(answer, used):
    result = evaluate("ch01.linear_backward", answer)
    assert not result.passed
    assert result.message.startswith(f"uses {used}, which this exercise does not allow")
    assert linear_right  # the same maths without them passes (test_right_answer)


def test_check_refuses_the_builtin_sigmoid_even_renamed():
    def sigmoid(v):
        out = v.sigmoid()
        out._op = "exp"
        return out

    result = evaluate("ch01.value_sigmoid", sigmoid)
    assert "uses dlbook.autograd.Value.sigmoid" in result.message
    assert evaluate("ch01.value_sigmoid", lambda v: 1 / (1 + (-v).exp())).passed


def test_train_mlp_may_use_dlbook_nn_but_must_return_a_module():
    from dlbook.grading.registry import get as get_question

    assert "dlbook.nn" not in get_question("ch01.train_mlp").forbidden
    result = evaluate("ch01.train_mlp", lambda X, y: {"named_parameters": None})
    assert "expected a trained dlbook.nn model" in result.message


# -- hidden inputs: drawn from a seed, never fixed ----------------------------------------------


def test_hidden_inputs_come_from_the_seed():
    from dlbook.grading.registry import hidden_rng

    q = get("ch01.linear_backward")
    same = [c.args["x"] for c in q.cases("hidden", 3)], [c.args["x"] for c in q.cases("hidden", 3)]
    other = [c.args["x"] for c in q.cases("hidden", 4)]
    assert all(np.array_equal(a, b) for a, b in zip(*same, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(same[0], other, strict=True))
    assert hidden_rng("ch01.a", 1).random() != hidden_rng("ch01.b", 1).random()


def test_every_question_has_a_hidden_suite_that_changes_with_the_seed():
    import pickle

    for n in range(15):
        for q in chapter_questions(f"ch{n:02d}"):
            assert q.cases("hidden", 1), q.id
            if q.takes_value:
                continue  # a value, not a function: nothing to draw
            a, b = ([c.args for c in q.cases("hidden", s)] for s in (1, 2))
            assert pickle.dumps(a) != pickle.dumps(b), q.id


def test_a_question_without_hidden_tests_is_refused():
    from dlbook.grading.registry import Case, Question, register

    with pytest.raises(ValueError, match="has no hidden tests"):
        register(Question("ch99.x", 1, "", "x(a) -> b", ("b",), public=lambda: [Case({})],
                          hidden=lambda rng: []))


def test_a_requirement_that_cannot_read_the_outputs_never_decides():
    # A requirement is a diagnosis: if it raises (a fault of the grader's own), the reference
    # decides, so a right answer keeps its points and a wrong one gets the comparison's message.
    from dlbook.grading.evaluate import judge_outputs
    from dlbook.grading.registry import Case, Question

    def broken(got, case):
        raise TypeError("a bug in the question's own check")

    case = Case({"a": np.ones(3)})
    q = Question("ch99.double", 1, "", "double(a) -> b", ("b",), public=lambda: [case],
                 hidden=lambda rng: [case], reference=lambda a: {"b": 2 * a},
                 requirements=(broken,))
    expected = q.reference(np.ones(3))
    judge_outputs(q, {"b": 2 * np.ones(3)}, case, expected)
    with pytest.raises(Mismatch, match="b"):
        judge_outputs(q, {"b": 3 * np.ones(3)}, case, expected)
    with pytest.raises(TypeError):  # no reference: nothing else can decide
        judge_outputs(q, {"b": 2 * np.ones(3)}, case, None)
