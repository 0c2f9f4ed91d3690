"""The floor check: the comparison, and the warning line with the cause read from the run."""
from tfbig.reports.floor import class_counts, compare_to_floor, floor_check, never_predicted


def _report(matrix, labels, model, floor):
    return {"confusion_matrix": matrix, "labels": labels, "baseline": {"model": "TF-IDF + logistic regression"},
            "floor": compare_to_floor(model, floor)}


def test_compare_to_floor_counts_a_tie_as_beating():
    got = compare_to_floor({"accuracy": 0.75, "macro_f1": 0.5}, {"accuracy": 0.75, "macro_f1": 0.52})
    assert got == {"accuracy": {"model": 0.75, "floor": 0.75, "beats": True},
                   "macro_f1": {"model": 0.5, "floor": 0.52, "beats": False}}


def test_no_warning_when_the_model_beats_the_floor():
    report = _report([[2, 0], [0, 2]], ["a", "b"], {"accuracy": 1.0}, {"accuracy": 0.5})
    assert floor_check(report, {"val_loss": [1.0, 0.5]}, {"a": 1, "b": 1}) is None


def test_warning_names_the_lost_metrics_and_every_cause():
    # c is never predicted though the test split has 3 of it; b has 4 training examples; val loss fell last.
    matrix = [[5, 0, 0], [1, 1, 0], [2, 1, 0]]
    report = _report(matrix, ["a", "b", "c"], {"accuracy": 0.58, "macro_f1": 0.14},
                     {"accuracy": 0.75, "macro_f1": 0.52})
    line = floor_check(report, {"val_loss": [2.33, 1.91, 1.77]}, {"a": 40, "b": 4, "c": 12})
    assert line == (
        "the model does not beat its floor (TF-IDF + logistic regression) on the test split: accuracy 0.5800 < "
        "0.7500, macro_f1 0.1400 < 0.5200. Likely cause: validation loss was still falling when training stopped "
        "(2.330 → 1.910 → 1.770): train longer (raise train.min_steps, or set train.epochs); 1 class(es) have "
        "fewer than 10 training examples: b (4) (more data for them, or train.class_weights=balanced); "
        "predictions collapsed onto 2 of 3 classes; never predicted: c (try train.class_weights=balanced, or "
        "train longer)")


def test_a_rising_validation_loss_is_not_named():
    report = _report([[1, 1], [1, 1]], ["a", "b"], {"accuracy": 0.5}, {"accuracy": 0.9})
    line = floor_check(report, {"val_loss": [1.0, 0.9, 0.95]}, {"a": 30, "b": 30})
    assert line.endswith("Likely cause: no cause stands out in the run (try train.class_weights=balanced, "
                         "another train.learning_rate or more data)")


def test_never_predicted_and_class_counts():
    assert never_predicted({"confusion_matrix": [[3, 0, 0], [2, 0, 0], [0, 0, 0]], "labels": ["x", "y", "z"]}) == ["y"]
    assert class_counts(["a", "b", "a"]) == {"a": 2, "b": 1}
    assert class_counts([["B-PER", "O"]]) == {}  # a token task's targets: no per-class count


def test_every_task_with_a_baseline_compares_to_it():
    """Regression, multi-label and tagging reports and their baselines' reports give a floor (not {})."""
    import numpy as np

    from tfbig.reports.floor import floor_markdown
    from tfbig.reports.multilabel import multilabel_report
    from tfbig.reports.regression import regression_report
    from tfbig.reports.tagging import most_frequent_tag_baseline, tagging_report
    from tfbig.tasks.registry import get_task

    y = np.array([[0.0], [1.0], [2.0], [3.0]])
    model, base = regression_report(y, y * 2, ["r"]), regression_report(y, y[::-1], ["r"])
    floor = compare_to_floor(get_task("regression", ["r"]).floor_metrics(model),
                             get_task("regression", ["r"]).floor_metrics(base))
    assert floor == {"pearson": {"model": 1.0, "floor": -1.0, "beats": True},
                     "spearman": {"model": 1.0, "floor": -1.0, "beats": True}}

    truth = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    guess = np.array([[1, 0], [0, 0], [1, 1], [0, 0]])  # one positive missed: 3 of 4 positives found
    task = get_task("multilabel", ["a", "b"])
    floor = compare_to_floor(task.floor_metrics(multilabel_report(truth, guess, ["a", "b"])),
                             task.floor_metrics(multilabel_report(truth, truth, ["a", "b"])))
    assert floor["micro_f1"] == {"model": 6 / 7, "floor": 1.0, "beats": False}
    assert set(floor) == {"micro_f1", "macro_f1"}

    tags = ["NN", "VB"]
    y_tags = np.array([[-100, 0, 1, -100]])
    logits = np.array([[[0, 0], [5, 0], [5, 0], [0, 0]]], np.float32)  # NN, NN: one of two right
    task = get_task("tagging", tags)
    base = most_frequent_tag_baseline([["a", "b"]], [["NN", "VB"]], [["a", "b"]], [["NN", "VB"]])
    report = {**tagging_report(y_tags, logits, tags), "baseline": base}
    report["floor"] = compare_to_floor(task.floor_metrics(report), task.floor_metrics(base))
    assert report["floor"] == {"token_accuracy": {"model": 0.5, "floor": 1.0, "beats": False}}
    md = "\n".join(floor_markdown(report))
    assert "most_frequent_tag" in md and "| token_accuracy | 0.5000 | 1.0000 | **no** |" in md
    assert floor_markdown({"floor": {}}) == []
