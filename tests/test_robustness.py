"""Real-world tables: one small hand-made frame per messy case (issue 10), fit and predict.

Each case either works (fit, predict of the right shape, a note where the table was changed)
or stops with one clear error naming the column and the fix. A tiny untrained model stands
in for the bundled one; a "rigged" one fixes the ranking where a test needs a given pipeline.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.tree import DecisionTreeClassifier

from skllmselect import LLMAlgorithmSelector, selector
from skllmselect.cli import main
from skllmselect.metafeatures import extract
from skllmselect.portfolio import PIPELINE_NAMES, make_pipeline_by_name
from skllmselect.tabular import PreparationWarning, plan_table
from tests.helpers import make_mixed_frame, messy_frame

N = 60


@pytest.fixture(scope="module")
def model(tiny_model):
    return tiny_model


@pytest.fixture(scope="module")
def fast_model(rigged_model):
    """Ranks two quick pipelines first: for the wide tables."""
    return rigged_model("robust_fast", ranking=["gaussian_nb", "lda"])


def base(n=N, seed=0):
    """One informative numeric column and a two-class target."""
    rng = np.random.default_rng(seed)
    y = np.array(["yes", "no"] * (n // 2), dtype=object)
    return pd.DataFrame({"signal": (y == "yes") + rng.normal(0, 0.5, n)}), y


def fit(X, y, model, **params):
    """Fit quietly (candidate failures are asserted where they matter); return the selector."""
    params = {"top_k": 2, "cv": 3, "random_state": 0} | params
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LLMAlgorithmSelector(model=model, **params).fit(X, y)


def assert_predicts(est, X, y):
    rows = X.iloc[:7] if isinstance(X, pd.DataFrame) else X[:7]
    pred = est.predict(rows)
    assert pred.shape == (7,) and set(pred) <= set(np.unique(y))
    if hasattr(est, "predict_proba"):
        assert est.predict_proba(rows).shape == (7, len(np.unique(y)))
    return pred


def has_note(est, *words):
    return any(all(w in note for w in words) for note in est.notes_)


# ------------------------------------------------------------------------------ column kinds


def test_high_cardinality_categorical_is_kept_with_a_note(model):
    n = 1200
    X, y = base(n)
    rng = np.random.default_rng(1)
    X["city"] = [f"city {i}" for i in rng.integers(0, 400, n)]  # ~400 levels, ~3 rows each
    X["shop"] = pd.Categorical([f"s{i % 1500}" for i in rng.permutation(n)])  # 1,200 levels...
    X["shop"] = X["shop"].cat.set_categories([f"s{i}" for i in range(1500)] + ["unused"])
    X.loc[:599, "shop"] = "s0"  # ...half of them one level: not an identifier
    est = fit(X, y, model)
    assert has_note(est, "'city'", "category levels", "32 most frequent")
    assert has_note(est, "'shop'", "category levels")
    assert est._table_plan.dropped == []
    new = X.iloc[:7].assign(city="a city never seen")
    assert est.predict(new).shape == (7,)
    assert_predicts(est, X, y)


def test_thousands_of_levels(fast_model):
    n = 6000
    X, y = base(n)
    X["sku"] = [f"sku-{i}" for i in np.random.default_rng(0).integers(0, 3000, n)]
    est = fit(X, y, fast_model, top_k=2)
    levels = X["sku"].nunique()
    assert levels > 2500 and has_note(est, "'sku'", f"{levels} category levels")
    assert est.meta_features_["cat_levels_log_max"] > 3  # of the 2,000 rows described
    assert_predicts(est, X, y)


def test_id_like_text_column_is_dropped_with_a_note(model):
    X, y = base()
    X["customer"] = [f"CUST-{i:05d}" for i in np.random.default_rng(0).permutation(N)]
    with pytest.warns(PreparationWarning, match="'customer'.*identifier.*dropped"):
        table = LLMAlgorithmSelector(model=model).recommend(X, y)
    assert any("'customer'" in note for note in table.attrs["notes"])
    est = fit(X, y, model)
    assert has_note(est, "'customer'", "all its 60 values are distinct", "dropped")
    assert est._table_plan.dropped == ["customer"]
    assert list(est.feature_names_in_) == ["signal", "customer"]  # still required
    assert est.meta_features_["n_features_log"] == 0.0  # described without it: 1 column
    unseen = X.iloc[:7].assign(customer="NEW")
    np.testing.assert_array_equal(est.predict(unseen), est.predict(X.iloc[:7]))


@pytest.mark.parametrize("label, values, dropped", [
    ("customer_id", lambda rng: rng.choice(10**9, N, replace=False), True),
    ("PassengerId", lambda rng: np.arange(1, N + 1), True),
    ("Unnamed: 0", lambda rng: np.arange(N), True),  # a saved index
    ("income", lambda rng: rng.choice(10**6, N, replace=False), False),  # a real feature
    ("year", lambda rng: np.arange(1990, 1990 + N), False),
    ("user_id", lambda rng: rng.integers(0, 5, N), False),  # repeats: a category code
])
def test_integer_identifiers_are_dropped_but_integer_features_kept(model, label, values,
                                                                   dropped):
    X, y = base()
    X[label] = values(np.random.default_rng(0))
    plan = plan_table(X)
    assert (plan.dropped == [label]) == dropped
    if dropped:
        assert any(f"{label!r}" in note and "identifier" in note for note in plan.notes)
        assert_predicts(fit(X, y, model), X, y)


def test_free_text_columns(model):
    rng = np.random.default_rng(0)
    words = ["good", "bad", "very", "not", "the", "food", "service", "was", "slow", "great"]
    X, y = base()
    X["review"] = [" ".join(rng.choice(words, 8)) + f" #{i}" for i in range(N)]  # all distinct
    X["comment"] = rng.choice(["ok", "ok!", "fine, thanks", "never again", None], N)  # repeats
    est = fit(X, y, model)
    assert est._table_plan.dropped == ["review"]
    assert has_note(est, "'review'", "free text", "identifier")
    assert not has_note(est, "'comment'")  # a few levels: an ordinary category
    assert_predicts(est, X, y)


def test_datetime_and_timedelta_columns_become_seconds(model):
    X, y = base()
    X["day"] = pd.date_range("2024-01-01", periods=N, freq="D")
    X["stamp"] = pd.date_range("2024-03-30", periods=N, freq="h", tz="Europe/Paris")
    X["maybe"] = X["day"].where(np.arange(N) % 4 > 0)  # NaT
    X["wait"] = pd.to_timedelta(np.arange(N) * 90, unit="s")
    X["iso_text"] = [f"2024-02-{1 + i % 28:02d}T10:{i % 60:02d}:00" for i in range(N)]
    X["month_text"] = [f"{2000 + i // 12}-{1 + i % 12:02d}" for i in range(N)]  # YYYY-MM
    X["wait_text"] = X["wait"].astype(str)  # "0 days 00:01:30", as a CSV file holds it
    X["month"] = pd.period_range("2020-01", periods=N, freq="M")
    est = fit(X, y, model)
    prepared = est._table_plan.transform(X)
    assert all(prepared[c].dtype == np.float64 for c in X.columns if c != "signal")
    assert prepared["day"].iloc[0] == pd.Timestamp("2024-01-01", tz="UTC").timestamp()
    assert prepared["stamp"].iloc[0] == X["stamp"].iloc[0].timestamp()  # the UTC instant
    assert prepared["maybe"].isna().sum() == N // 4
    assert prepared["wait"].iloc[2] == 180.0
    assert prepared["iso_text"].iloc[0] == pd.Timestamp("2024-02-01T10:00", tz="UTC").timestamp()
    assert prepared["month"].iloc[1] == pd.Timestamp("2020-02-01", tz="UTC").timestamp()
    assert prepared["month_text"].iloc[13] == pd.Timestamp("2001-02-01", tz="UTC").timestamp()
    np.testing.assert_array_equal(prepared["wait_text"], prepared["wait"])
    for column in ("day", "stamp", "maybe"):
        assert has_note(est, f"'{column}'", "seconds since 1970-01-01 UTC")
    assert has_note(est, "'wait'", "time spans") and has_note(est, "'iso_text'", "ISO-8601")
    assert has_note(est, "'month_text'", "ISO-8601") and has_note(est, "'wait_text'", "as text")
    assert est.meta_features_["categorical_share"] == 0.0  # all read as numbers
    assert_predicts(est, X, y)


def test_boolean_and_nullable_columns_pass_through_unchanged(model):
    X, y = make_mixed_frame(n_rows=90)  # bool, Int64 with NA, category, object with None
    X["maybe"] = pd.array([True, False, None] * 30, dtype="boolean")
    X["ratio"] = pd.array([0.5, None, 1.5] * 30, dtype="Float64")
    X["word"] = pd.array(["u", None, "v"] * 30, dtype="string")
    plan = plan_table(X)
    assert plan.transform(X) is X and plan.notes == ()  # a clean table is not touched
    est = fit(X, y, model)
    assert est.notes_ == []
    np.testing.assert_array_equal(
        est.meta_features_.to_numpy(),
        extract(X, np.asarray(y), time_budget=None, random_state=0))
    assert_predicts(est, X, y)


def test_mixed_type_object_columns(model):
    X, y = base()
    X["mixed"] = pd.Series([1, "a", 2.5, None, True, b"raw"] * (N // 6), dtype=object)
    X["numbers"] = pd.Series([1, 2.5, None, 4] * (N // 4), dtype=object)
    est = fit(X, y, model)
    assert has_note(est, "'numbers'", "used as numbers")
    assert not has_note(est, "'mixed'")
    assert_predicts(est, X, y)


def test_unicode_and_duplicate_looking_column_names(model):
    X, y = base()
    rng = np.random.default_rng(0)
    X["größe ✓"] = rng.normal(size=N)
    X["名前"] = rng.choice(["あ", "い", "う"], N)
    X["signal "] = rng.normal(size=N)  # trailing space
    X["Signal"] = rng.normal(size=N)
    X[""] = rng.normal(size=N)
    est = fit(X, y, model)
    assert list(est.feature_names_in_) == list(X.columns)
    assert_predicts(est, X, y)


def test_duplicate_column_names_are_a_clear_error(model):
    X, y = base()
    X = pd.concat([X, X.rename(columns={"signal": "other"}), X], axis=1)
    for method in ("fit", "recommend"):
        with pytest.raises(ValueError, match=r"duplicate column names: 'signal' \(2 times\)"
                                             r".*rename the columns"):
            getattr(LLMAlgorithmSelector(model=model), method)(X, y)


def test_column_names_of_mixed_types_are_refused_as_scikit_learn_does(model):
    X, y = base()
    X[1] = 2.0
    with pytest.raises(TypeError, match="all input features have string names"):
        fit(X, y, model)


def test_constant_and_all_missing_columns(model):
    X, y = base()
    X["constant"] = 3.0
    X["constant_text"] = "k"
    X["empty"] = np.nan
    X["empty_text"] = pd.Series([None] * N, dtype=object)
    est = fit(X, y, model)
    assert est._table_plan.dropped == ["empty", "empty_text"]
    assert has_note(est, "'empty'", "every value is missing")
    assert_predicts(est, X, y)
    only_empty = pd.DataFrame({"empty": [np.nan] * N, "none": [None] * N})
    with pytest.raises(ValueError, match="no usable feature column.*'empty'.*every value is "
                                         "missing"):
        fit(only_empty, y, model)
    only_constant = pd.DataFrame({"c": [1.0] * N})
    assert_predicts(fit(only_constant, y, model), only_constant, y)


def test_duplicated_rows_and_columns(model):
    X, y = base(20)
    X = pd.concat([X] * 3, ignore_index=True)
    y = np.concatenate([y] * 3)
    X["copy"] = X["signal"]
    X["copy2"] = X["signal"]
    est = fit(X, y, model)
    assert_predicts(est, X, y)


def test_a_single_feature(model):
    X, y = base()
    est = fit(X, y, model)
    assert est.n_features_in_ == 1
    assert_predicts(est, X, y)
    assert_predicts(fit(X.to_numpy(), y, model), X.to_numpy(), y)


@pytest.mark.parametrize("shape", [(50, 2000), (120, 3000)])
def test_wide_and_short_tables(fast_model, shape):
    rng = np.random.default_rng(0)
    n_rows, n_cols = shape
    X = pd.DataFrame(rng.normal(size=shape), columns=[f"gene_{j}" for j in range(n_cols)])
    y = np.array(["a", "b"] * (n_rows // 2))
    X["gene_0"] += (y == "a") * 2
    est = fit(X, y, fast_model, top_k=1)
    assert est.best_pipeline_ == "gaussian_nb" and est.n_features_in_ == n_cols
    assert_predicts(est, X, y)


def test_infinity_is_refused_the_same_in_fit_and_predict(model):
    X, y = base()
    X["text"] = ["inf", "-inf", "nan"] * (N // 3)  # text "inf" is a category, not infinity
    est = fit(X, y, model)
    bad = X.iloc[:5].copy()
    bad.loc[2, "signal"] = np.inf
    with pytest.raises(ValueError, match=r"infinite values .*'signal'.*np\.nan"):
        est.predict(bad)
    X_inf = X.copy()
    X_inf.loc[0, "signal"] = -np.inf
    with pytest.raises(ValueError, match=r"infinite values .*'signal'"):
        fit(X_inf, y, model)
    with pytest.raises(ValueError, match=r"infinite values .*'signal'"):
        LLMAlgorithmSelector(model=model).recommend(X_inf, y)


def test_values_beyond_float32_are_refused_like_infinity(model):
    X, y = base()
    est = fit(X.assign(big=X["signal"] * 1e30), y, model)  # large, but within float32
    assert_predicts(est, X.assign(big=X["signal"] * 1e30), y)
    huge = X.assign(big=X["signal"] * 1e200)  # would overflow the scalers and hang liblinear
    for method in ("fit", "recommend"):
        with pytest.raises(ValueError, match=r"too large to learn from in 1 column\(s\): 'big' "
                                             r"\(up to .*e\+200\).*rescale"):
            getattr(LLMAlgorithmSelector(model=model), method)(huge, y)
    with pytest.raises(ValueError, match=r"too large to learn from .*'big'"):
        est.predict(huge.iloc[:5])
    as_text = X.assign(big=["1e300"] * N).iloc[:5]  # parsed as a number at predict time
    with pytest.raises(ValueError, match=r"column 'big' was numeric in fit, but holds 5 "
                                         r"value\(s\) that are not numbers within"):
        est.predict(as_text)


class FailsOnManyRows(ClassifierMixin, BaseEstimator):
    """A decision tree that fits on a cross-validation fold but not on all the rows."""

    def __init__(self, max_rows=10):
        self.max_rows = max_rows

    def fit(self, X, y):
        if len(X) > self.max_rows:
            raise ValueError(f"cannot fit more than {self.max_rows} rows")
        self.tree_ = DecisionTreeClassifier(random_state=0).fit(X, y)
        self.classes_ = self.tree_.classes_
        return self

    def predict(self, X):
        return self.tree_.predict(X)


@pytest.mark.parametrize("top_k", [1, 2])
def test_a_winner_that_cannot_be_refit_gives_way_to_the_next(rigged_model, monkeypatch,
                                                              top_k):
    def make(name, random_state=0):
        pipeline = make_pipeline_by_name(name, random_state)
        return pipeline.set_params(model=FailsOnManyRows()) if name == "logreg" else pipeline

    monkeypatch.setattr(selector, "make_pipeline_by_name", make)
    X, y = base(20)
    X["signal"] = np.where(y == "yes", 0.0, 1.0)  # both candidates score 1: logreg is first
    model = rigged_model("robust_refit", ranking=["logreg", "decision_tree"],
                         fit_times={name: 1.0 for name in PIPELINE_NAMES} | {"decision_tree": 0.1})
    with pytest.warns(UserWarning, match="logreg .*refit on all rows failed: ValueError: "
                                         "cannot fit more than 10 rows"):
        est = LLMAlgorithmSelector(model=model, top_k=top_k, cv=2, random_state=0).fit(X, y)
    assert list(est.cv_results_["pipeline"]) == ["logreg", "decision_tree"]
    assert list(est.cv_results_["status"]) == ["failed", "ok"]
    assert est.cv_results_["error"][0].startswith("cross-validated 1, but the refit")
    assert est.best_pipeline_ == "decision_tree" and est.best_index_ == 1
    assert list(est.cv_results_["rank_test_score"]) == [2, 1]
    assert est.score(X, y) == 1.0


def test_a_category_column_missing_on_a_whole_training_fold(model):
    # Before the selector filled in missing categories itself, the pipelines' imputer
    # dropped such a column on that fold and every candidate failed in the encoder.
    X = pd.DataFrame({"x": [0.1, -0.3, 0.5], "flag": pd.array([True, None, True],
                                                              dtype="boolean")})
    est = fit(X, np.array([2, -1, -1]), model, top_k=1, cv=3)
    assert set(est.cv_results_["status"]) == {"ok"}
    assert est.predict(X.assign(flag=pd.array([None] * 3, dtype="boolean"))).shape == (3,)


def test_a_fold_without_any_value_is_a_clear_error(model):
    X = pd.DataFrame({"x": [np.nan] * 8 + [0.5, 0.7]})
    y = np.array([0, 1] * 5)
    with pytest.raises(ValueError, match=r"fold \d of 5, no column of X has a value on the 8 "
                                         r"training rows.*'x', has values in only 2 of 10"):
        LLMAlgorithmSelector(model=model, cv=5).fit(X, y)


def test_complex_and_nested_cells_are_clear_errors(model):
    X, y = base()
    with pytest.raises(ValueError, match="column 'z' holds complex numbers.*np.abs"):
        fit(X.assign(z=X["signal"] + 1j), y, model)
    nested = X.assign(tags=pd.Series([["a", "b"], ["c"]] * (N // 2), dtype=object))
    with pytest.raises(TypeError, match=r"column 'tags' holds list values \(e.g. \['a', "
                                        r"'b'\]\).*astype\(str\)"):
        fit(nested, y, model)


# ------------------------------------------------------------------------------ classes


def test_a_class_smaller_than_the_folds_lowers_them(model):
    X, y = base(40)
    y = y.copy()
    y[:2] = "rare"
    est = fit(X, y, model, cv=5)
    assert has_note(est, "cv=5 lowered to 2 folds", "'rare'")
    assert est.recommendations_.attrs["notes"] == est.notes_
    assert "split1_test_score" in est.cv_results_ and "split2_test_score" not in est.cv_results_
    with pytest.warns(PreparationWarning, match="cv=5 lowered to 2 folds"):
        LLMAlgorithmSelector(model=model, top_k=1, cv=5).fit(X, y)
    assert_predicts(est, X, y)


def test_a_class_of_one_row_is_cross_validated_with_two_folds(model):
    X, y = base(40)
    y = y.copy()
    y[0] = "single"
    est = fit(X, y, model, cv=5)
    assert has_note(est, "cv=5 lowered to 2 folds", "'single'", "single row")
    assert "single" in est.classes_
    assert_predicts(est, X, y)


def test_many_classes_and_extreme_imbalance(model):
    rng = np.random.default_rng(0)
    y = np.array([f"k{i % 25}" for i in range(250)])
    X = pd.DataFrame({"a": rng.normal(size=250) + np.arange(250) % 25, "b": rng.normal(size=250)})
    est = fit(X, y, model)
    assert len(est.classes_) == 25 and est.meta_features_["n_classes"] == 25
    assert_predicts(est, X, y)

    y = np.array(["common"] * 495 + ["rare"] * 5)
    X = pd.DataFrame({"a": rng.normal(size=500) + (y == "rare") * 3})
    est = fit(X, y, model, cv=5)
    # No preparation or fold note (the test model's tokenizer, fitted on toy vectors, may
    # add a coverage note: its training range is not a real corpus's).
    assert [n for n in est.notes_ if "outside what the model was trained on" not in n] == []
    assert est.meta_features_["class_imbalance"] == pytest.approx(5 / 495)
    assert_predicts(est, X, y)


# ------------------------------------------------------------------------------ every pipeline


@pytest.mark.parametrize("pipeline", PIPELINE_NAMES)
def test_every_pipeline_fits_the_messy_frame_or_is_reported(rigged_model, pipeline):
    X, y = messy_frame()
    model = rigged_model(f"robust_first_{pipeline}", ranking=[pipeline])
    est = fit(X, y, model, top_k=1, cv=5)
    results = est.cv_results_
    assert results["pipeline"][0] == pipeline
    if results["status"][0] == "ok":
        assert est.best_pipeline_ == pipeline
    else:  # passed over, with the reason recorded
        assert results["error"][0] and est.best_pipeline_ != pipeline
    assert has_note(est, "'id'", "dropped") and has_note(est, "'empty'", "dropped")
    assert has_note(est, "cv=5 lowered to 3 folds")
    assert_predicts(est, X, y)


# ------------------------------------------------------------------------------ predict


@pytest.fixture(scope="module")
def fitted(model):
    X, y = messy_frame()
    return fit(X, y, model), X, y


def test_predict_refuses_missing_extra_and_reordered_columns_as_sklearn_does(fitted):
    est, X, _ = fitted
    with pytest.raises(ValueError, match="Feature names seen at fit time, yet now missing"
                                         r":\n- city"):
        est.predict(X.drop(columns="city"))
    with pytest.raises(ValueError, match="Feature names unseen at fit time:\n- extra"):
        est.predict(X.assign(extra=1.0))
    with pytest.raises(ValueError, match="same order as they were in fit"):
        est.predict(X[list(reversed(X.columns))])
    with pytest.raises(ValueError, match="X has 5 features, but LLMAlgorithmSelector is "
                                         "expecting 12 features"):
        est.predict(X.iloc[:, :5].to_numpy())


def test_predict_handles_new_levels_and_changed_dtypes(fitted):
    est, X, y = fitted
    rows = X.iloc[:7].copy()
    expected = est.predict(rows)
    changed = rows.assign(
        city=["never seen"] * 7,  # new category levels
        id=["new"] * 7,  # a dropped column: ignored
        signal=rows["signal"].astype(str),  # numbers as text: parsed
        when=rows["when"].astype(str),  # datetimes as text: parsed
        wait=rows["wait"].astype(str),
        count=rows["count"].astype("float64"),  # Int64 -> float
        flag=rows["flag"].astype(object),
        constant=1,  # float -> int
    )
    assert est.predict(changed).shape == (7,)
    same = rows.assign(id=["new"] * 7, signal=rows["signal"].astype(str),
                       when=rows["when"].dt.tz_convert("Asia/Tokyo"))  # same instants
    np.testing.assert_array_equal(est.predict(same), expected)
    # A categorical column given as numbers is read as their text.
    assert est.predict(rows.assign(mixed=2.5)).shape == (7,)


@pytest.mark.parametrize("column, value, match", [
    ("signal", "twelve", r"column 'signal' was numeric in fit, but holds 7 value\(s\) that "
                         r"are not numbers within \+-3.4e38 now \(e.g. 'twelve'\)"),
    ("signal", pd.Timestamp("2020-01-01"), "column 'signal' was numeric in fit, but is "
                                           "datetime64"),
    ("when", "yesterday", r"column 'when' held datetimes in fit, but 7 of its values are not "
                          r"dates now \(e.g. 'yesterday'\)"),
    ("when", 3.5, "column 'when' held datetimes in fit, but is float64 now"),
    ("wait", "long", "column 'wait' held time spans in fit, but 7 of its values are not"),
])
def test_predict_refuses_values_of_another_kind_naming_the_column(fitted, column, value,
                                                                   match):
    est, X, _ = fitted
    with pytest.raises(ValueError, match=match):
        est.predict(X.iloc[:7].assign(**{column: value}))


def test_a_frame_fitted_selector_predicts_on_an_object_array(fitted):
    est, X, y = fitted
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        pred = est.predict(X.iloc[:7].to_numpy(dtype=object))
    np.testing.assert_array_equal(pred, est.predict(X.iloc[:7]))


def test_datetime_numpy_arrays_are_seconds(model):
    days = np.arange("2024-01-01", "2024-03-01", dtype="datetime64[D]")[:N].reshape(-1, 1)
    _, y = base()
    est = fit(days, y, model)
    assert est.predict(days[:7]).shape == (7,)
    assert plan_table(days).transform(days)[1, 0] == pd.Timestamp("2024-01-02").timestamp()


def test_command_line_on_a_messy_csv(model, tmp_path):
    X, y = messy_frame()
    X["month"] = pd.period_range("1999-01", periods=len(X), freq="M")
    X.assign(label=y).to_csv(tmp_path / "messy.csv", index=True)  # with its index column
    out = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(out):
        warnings.simplefilter("ignore")
        code = main(["recommend", str(tmp_path / "messy.csv"), "--target", "label", "--model",
                     model, "--json", "--fit", "--top-k", "1", "--cv", "5"])
    assert code == 0
    notes = json.loads(out.getvalue())["notes"]
    for expected in ("'Unnamed: 0': it counts the rows", "'id': all its 90 values are distinct",
                     "'when': ISO-8601 dates", "'month': ISO-8601 dates",
                     "'wait': time spans given as text", "'empty': every value is missing",
                     "cv=5 lowered to 3 folds"):
        assert any(expected in note for note in notes), (expected, notes)
    out = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(out):
        warnings.simplefilter("ignore")
        assert main(["recommend", str(tmp_path / "messy.csv"), "--target", "label",
                     "--model", model]) == 0
    assert "note: column 'id': all its 90 values are distinct" in out.getvalue()


def test_a_constant_text_column_with_an_integer_name(model):
    X = pd.DataFrame({1: ["same"] * 3})
    est = fit(X, np.array([-1, -1, 2]), model, top_k=1, cv=2)
    assert_predicts(est, pd.concat([X] * 3, ignore_index=True), np.array([-1, 2]))
