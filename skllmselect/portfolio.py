"""The candidate pipelines: stable name -> unfitted scikit-learn Pipeline that takes raw tables.

Every pipeline starts with the same preprocessing, so that each accepts what a user hands
``fit``: a numpy array or a pandas DataFrame with numeric, categorical (category, object,
string, bool) and missing values, and category levels at predict time that were never seen in
fit. Models that care about feature scale get standardised numeric columns and one-hot
categories; tree models get ordinal codes (one-hot would only slow them down).

The names are identifiers stored in the corpus and in the model's config: never rename or
repurpose one. Add a new pipeline under a new name and bump ``PORTFOLIO_VERSION``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.discriminant_analysis import (
    LinearDiscriminantAnalysis,
    QuadraticDiscriminantAnalysis,
)
from sklearn.ensemble import (
    AdaBoostClassifier,
    BaggingClassifier,
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.metrics import get_scorer
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
)
from sklearn.svm import SVC, LinearSVC
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.validation import has_fit_parameter

PORTFOLIO_VERSION = "1"

# Category levels rarer than this share of the rows, and any beyond the most frequent
# MAX_LEVELS, share one "infrequent" column: ID-like columns would otherwise explode the
# one-hot width (and the fit time of every linear model and SVM).
MIN_LEVEL_FREQUENCY = 0.01
MAX_LEVELS = 32
MISSING_LEVEL = "__missing__"


def as_frame(X) -> pd.DataFrame:
    """Return ``X`` as a DataFrame whose columns are float (numeric) or str/NaN (categorical).

    The first step of every pipeline. It gives string column names (so the column selectors
    work on numpy input), turns nullable and boolean dtypes into something every scikit-learn
    step accepts, and makes categorical values strings so a column mixing ``1`` and ``"a"``
    can be encoded. ``+/-inf`` becomes NaN and is imputed like any missing value.
    """
    if isinstance(X, pd.DataFrame):
        frame = X
    else:
        # An object array holds whatever the user mixed in it: let pandas find the columns
        # that are really numeric, and keep the rest as categories.
        frame = pd.DataFrame(np.asarray(X)).infer_objects()
    columns = {}
    for position, name in enumerate(frame.columns):
        col = frame.iloc[:, position]
        if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
            missing = col.isna().to_numpy()
            values = col.to_numpy(dtype=object).astype(str).astype(object)
            values[missing] = np.nan
        else:
            values = col.to_numpy(dtype="float64", na_value=np.nan, copy=True)
            values[np.isinf(values)] = np.nan
        columns[str(name)] = values
    return pd.DataFrame(columns, index=frame.index)


def _numeric_columns():
    return make_column_selector(dtype_include="number")


def _categorical_columns():
    return make_column_selector(dtype_exclude="number")


def _scaled_preprocessing() -> Pipeline:
    """Median-impute and standardise numbers; one-hot encode categories (levels capped)."""
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="constant", fill_value=MISSING_LEVEL),
        OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            min_frequency=MIN_LEVEL_FREQUENCY,
            max_categories=MAX_LEVELS,
            sparse_output=False,
        ),
    )
    return _frame_then(numeric, categorical)


def _ordinal_preprocessing() -> Pipeline:
    """Median-impute numbers; ordinal codes for categories (unseen levels and missing -> -1)."""
    numeric = SimpleImputer(strategy="median")
    categorical = make_pipeline(
        SimpleImputer(strategy="constant", fill_value=MISSING_LEVEL),
        OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
    )
    return _frame_then(numeric, categorical)


def _frame_then(numeric, categorical) -> Pipeline:
    columns = ColumnTransformer(
        [
            ("numeric", numeric, _numeric_columns()),
            ("categorical", categorical, _categorical_columns()),
        ],
        # A table with no usable column must fail loudly in fit, not predict garbage.
        remainder="drop",
        verbose_feature_names_out=False,
    )
    return Pipeline([("frame", FunctionTransformer(as_frame)), ("columns", columns)])


def _scaled(model) -> Pipeline:
    return Pipeline([("preprocess", _scaled_preprocessing()), ("model", model)])


def _ordinal(model) -> Pipeline:
    return Pipeline([("preprocess", _ordinal_preprocessing()), ("model", model)])


# Each entry builds a fresh pipeline. Hyperparameters are fixed, mostly scikit-learn's
# defaults; a few variants differ where the choice changes which datasets a model wins on
# (regularisation strength, neighbourhood size, tree depth, class weighting for imbalance).
# Ensembles are kept small enough that the whole portfolio cross-validates in seconds on
# a few thousand rows (the corpus budget is about 14 core-seconds per dataset).
_BUILDERS = {
    "logreg": lambda rs: _scaled(LogisticRegression(max_iter=1000, random_state=rs)),
    "logreg_strong_l2": lambda rs: _scaled(
        LogisticRegression(C=0.05, max_iter=1000, random_state=rs)
    ),
    "logreg_balanced": lambda rs: _scaled(
        LogisticRegression(class_weight="balanced", max_iter=1000, random_state=rs)
    ),
    "ridge": lambda rs: _scaled(RidgeClassifier()),
    "linear_svc": lambda rs: _scaled(LinearSVC(C=0.5, random_state=rs)),
    "svc_rbf": lambda rs: _scaled(SVC(kernel="rbf", random_state=rs)),
    "knn_5": lambda rs: _scaled(KNeighborsClassifier(n_neighbors=5)),
    "knn_25_distance": lambda rs: _scaled(
        KNeighborsClassifier(n_neighbors=25, weights="distance")
    ),
    "gaussian_nb": lambda rs: _scaled(GaussianNB()),
    "lda": lambda rs: _scaled(LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")),
    # Shrunk covariances: plain QDA fails whenever a class has fewer rows than features.
    "qda": lambda rs: _scaled(QuadraticDiscriminantAnalysis(solver="eigen", shrinkage=0.3)),
    "decision_tree": lambda rs: _ordinal(DecisionTreeClassifier(random_state=rs)),
    "decision_tree_pruned": lambda rs: _ordinal(
        DecisionTreeClassifier(max_depth=6, min_samples_leaf=5, random_state=rs)
    ),
    "random_forest": lambda rs: _ordinal(
        RandomForestClassifier(n_estimators=100, random_state=rs)
    ),
    "random_forest_balanced": lambda rs: _ordinal(
        RandomForestClassifier(
            n_estimators=100, class_weight="balanced_subsample", random_state=rs
        )
    ),
    "extra_trees": lambda rs: _ordinal(ExtraTreesClassifier(n_estimators=100, random_state=rs)),
    "hist_gradient_boosting": lambda rs: _ordinal(
        HistGradientBoostingClassifier(random_state=rs)
    ),
    "adaboost": lambda rs: _ordinal(AdaBoostClassifier(n_estimators=50, random_state=rs)),
    "bagging_trees": lambda rs: _ordinal(
        BaggingClassifier(DecisionTreeClassifier(), n_estimators=30, random_state=rs)
    ),
    # No early stopping: its 10% validation split starves small datasets (iris: 0.63).
    "mlp": lambda rs: _scaled(
        MLPClassifier(hidden_layer_sizes=(64,), alpha=1e-3, max_iter=400, random_state=rs)
    ),
}

#: Stable identifiers of the candidate pipelines, in a fixed order.
PIPELINE_NAMES: tuple[str, ...] = tuple(_BUILDERS)


def make_pipeline_by_name(name: str, random_state: int | None = 0) -> Pipeline:
    """Build the unfitted candidate pipeline called ``name``.

    Parameters
    ----------
    name : str
        One of :data:`PIPELINE_NAMES`.
    random_state : int or None, default=0
        Seed of the model's own randomness (forests, MLP, ...).

    Returns
    -------
    sklearn.pipeline.Pipeline
        Preprocessing (``preprocess``) followed by the estimator (``model``).

    Examples
    --------
    >>> from skllmselect.portfolio import make_pipeline_by_name
    >>> make_pipeline_by_name("random_forest").named_steps["model"]
    RandomForestClassifier(random_state=0)
    """
    try:
        builder = _BUILDERS[name]
    except KeyError:
        raise ValueError(
            f"Unknown pipeline {name!r}. Known pipelines: {', '.join(PIPELINE_NAMES)}."
        ) from None
    return builder(random_state)


def make_portfolio(random_state: int | None = 0) -> dict[str, Pipeline]:
    """Return every candidate pipeline, unfitted, keyed by its stable name."""
    return {name: make_pipeline_by_name(name, random_state) for name in PIPELINE_NAMES}


def unmet_requirements(training_labels) -> dict[str, str]:
    """Pipelines that cannot fit on some of the given training sets, with the reason.

    A few models have hard preconditions that the labels alone decide, and the model's
    predicted score cannot see them (the meta-features describe shares, not exact counts).
    Checking them costs nothing, so the selector never spends a top-k slot on a pipeline
    that is bound to fail.

    Parameters
    ----------
    training_labels : iterable of array-like
        The labels of each training set the pipelines will be fitted on: every
        cross-validation fold's training rows and, for the final refit, all rows.

    Returns
    -------
    dict of str to str
        ``{pipeline name: reason}``; empty when every pipeline can fit.

    Examples
    --------
    >>> from skllmselect.portfolio import unmet_requirements
    >>> list(unmet_requirements([["a", "a", "b"]]))
    ['qda']
    >>> unmet_requirements([["a", "a", "b", "b"]])
    {}
    """
    unmet = {}
    for labels in training_labels:
        counts = pd.Series(np.asarray(labels)).value_counts()
        single = counts.index[counts == 1]
        if len(single) and "qda" not in unmet:
            # scikit-learn: "y has only 1 sample in class ..., covariance is ill defined."
            unmet["qda"] = (
                "QuadraticDiscriminantAnalysis needs at least 2 rows of each class it trains "
                f"on; class {single[0]!r} has 1 in a training set"
            )
    return unmet


def unmet_by_parameters(names, scoring, seed, weighted: bool) -> dict[str, str]:
    """Pipelines that cannot serve this ``scoring`` or sample weights, with the reason.

    A scorer that reads only probabilities (``neg_log_loss``, ``roc_auc_ovr``, ...)
    cannot score a pipeline without ``predict_proba`` (ridge, linear_svc, svc_rbf): such
    a pipeline would fail its cross-validation, so the selector ranks it last instead. (Its
    probabilities are calibrated only once it has won: see the selector's ``calibration_``.)
    ``weighted``: fit has sample weights, which the pipeline's model must accept.
    """
    methods = _scorer_methods(scoring)
    unmet = {}
    if not weighted and not {"predict_proba", "predict_log_proba"}.issuperset(methods):
        return unmet  # every pipeline has predict or decision_function: nothing to check
    for name in names:
        pipeline = make_pipeline_by_name(name, random_state=seed)
        if methods and not any(hasattr(pipeline, m) for m in methods):
            unmet[name] = (f"scoring={scoring!r} reads {' or '.join(methods)}, "
                           "which this pipeline does not have")
        elif weighted and not has_fit_parameter(pipeline.steps[-1][1], "sample_weight"):
            unmet[name] = (f"{type(pipeline.steps[-1][1]).__name__} does not accept "
                           "sample_weight, and fit was given sample weights")
    return unmet


def _scorer_methods(scoring) -> tuple[str, ...]:
    """The methods a named scorer may read (any one of them), or () when unknown.

    scikit-learn has no public way to ask a scorer what it calls; its scorers keep it in
    ``_response_method`` (scikit-learn >= 1.4), read here in this one place. A callable
    ``scoring`` is the user's own: nothing is assumed about it.
    """
    if not isinstance(scoring, str):
        return ()
    method = getattr(get_scorer(scoring), "_response_method", None)
    return (method,) if isinstance(method, str) else tuple(method or ())
