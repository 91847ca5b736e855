"""LLMAlgorithmSelector: ask the pretrained selector which pipelines suit a dataset, then fit them.

The user-facing flow. ``recommend(X, y)`` computes the dataset's meta-features, tokenizes them
and runs one forward pass of the selector network: a ranked table of every portfolio pipeline
with its predicted score, the model's uncertainty about it and a predicted fit time. ``fit``
then cross-validates the best-ranked pipelines (the GridSearchCV shape: ``cv_results_``,
``best_estimator_``, ``best_score_``) and delegates prediction to the winner.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import time
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.metrics import check_scoring, get_scorer, get_scorer_names
from sklearn.model_selection import StratifiedKFold, check_cv
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    has_fit_parameter,
    validate_data,
)

from skllmselect import loading
from skllmselect.calibration import TemperatureScaling, decision_columns
from skllmselect.coverage import CoverageWarning, coverage_notes
from skllmselect.describe import describe
from skllmselect.ensemble import EnsembleClassifier, fold_scorer, select
from skllmselect.metafeatures import METAFEATURE_NAMES, start_worker
from skllmselect.portfolio import make_pipeline_by_name, unmet_requirements
from skllmselect.prediction import predict_and_rank
from skllmselect.search import plan_search, predicted_costs
from skllmselect.tabular import PreparationWarning, fill_missing_categories
from skllmselect.validation import check_finite, check_X, plain

# The clock of time_budget (a name of its own so that tests can drive it).
_clock = time.perf_counter

# What fit is doing, one INFO record per step (ranking, each candidate, the refit): the
# command line shows them as progress; a library user can read them with logging.
_log = logging.getLogger(__name__)

# ------------------------------------------------------------------------------ the network


@functools.lru_cache(maxsize=8)
def _load_cached(model: str, revision: str | None):
    """``loading.load`` once per (model, revision) and process: later calls are free.

    Returns ``(network, tokenizer, residuals, forest)``; residuals and forest are None for a
    model without them. Call it through :func:`_load`, which waits for a load under way.
    """
    return loading.load(model, revision, with_residuals=True, with_forest=True)


# One load at a time: a call that needs the model while _start's thread loads it waits for
# that load (then finds it cached) instead of loading it a second time.
_LOAD_LOCK = threading.Lock()
_started_loads: set[tuple[str, str | None]] = set()
_STARTED_LOCK = threading.Lock()


def _load(model: str, revision: str | None):
    with _LOAD_LOCK:
        return _load_cached(model, revision)


def _start(model: str, revision: str | None) -> None:
    """Start the meta-feature worker and, on the first call for this model, its load.

    The model loads in a thread of this process while the worker process starts and
    extracts the meta-features: on a first call each takes about 1.5 s of one core (torch
    and the network here; pymfe, scikit-learn and the extraction there), in parallel rather
    than one after the other (see ``benchmarks/speed.py --cold-only``). Later calls: a
    no-op queued in the running worker. A load that fails in the thread is left for the
    caller's own load (:func:`_load`, in :meth:`LLMAlgorithmSelector._rank`) to raise.
    """
    start_worker()
    with _STARTED_LOCK:
        if (model, revision) in _started_loads:
            return
        _started_loads.add((model, revision))
    threading.Thread(target=_load_quietly, args=(model, revision),
                     name="skllmselect-model-load").start()


def _load_quietly(model: str, revision: str | None) -> None:
    with contextlib.suppress(Exception):  # raised again, to the caller, by its own _load
        _load(model, revision)


def load_network(model=loading.BUNDLED, revision=None):
    """Return ``(network, tokenizer)`` for ``model``, loaded once per process and revision.

    Errors are :func:`skllmselect.loading.load`'s: a missing folder, a damaged
    ``model.safetensors`` or ``config.json``, or a model made for other code, each with a
    message that names the file and the fix.
    """
    return _load(str(model), revision)[:2]


def _estimator_has(attr: str):
    """``available_if`` check: delegate only what the best pipeline has (as GridSearchCV)."""

    def check(self) -> bool:
        if getattr(self, "ensemble_", None) is not None and attr != "predict":
            raise AttributeError(f"The fitted selector predicts with an ensemble, which has no "
                                 f"{attr}; see ensemble_ (or fit with ensemble=False).")
        if hasattr(self, "best_estimator_"):
            getattr(self.best_estimator_, attr)  # AttributeError if it does not have it
        # Unfitted: any pipeline may win, so the method is there and raises NotFittedError.
        return True

    return check


# ------------------------------------------------------------------------------ the estimator


class LLMAlgorithmSelector(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Classifier that asks a pretrained transformer which pipelines suit the data, then fits them.

    ``fit`` computes the dataset's meta-features, lets the selector network score every
    pipeline of the portfolio (:data:`skllmselect.portfolio.PIPELINE_NAMES`), cross-validates
    the ``top_k`` best-ranked pipelines (or, with ``time_budget``, as many as the budget
    allows), and refits the one with the best cross-validated score on all the data. With
    ``ensemble=True`` it then builds a weighted ensemble of the candidates from their
    out-of-fold probabilities (greedy ensemble selection, :mod:`skllmselect.ensemble`; no
    extra cross-validation) and, when the ensemble scores better on the folds than the winner
    alone, predicts with it (``ensemble_``). Otherwise ``predict`` and ``decision_function``
    delegate to the winner (``decision_function`` exists only when it has one, and never
    with an ensemble). ``predict_proba`` and
    ``predict_log_proba`` always exist: the winner's own, or for a winner without them
    (ridge, linear_svc, svc_rbf) its decision values calibrated on the out-of-fold decision
    values of its cross-validation (no extra fit; see ``calibration_``). ``score`` is the
    ``scoring`` metric, as in GridSearchCV. ``fit`` takes ``groups`` (for a group
    splitter) and ``sample_weight``. :meth:`recommend` returns the ranking without fitting
    anything.

    Parameters
    ----------
    model : str or path, default="bundled"
        The selector network: ``"bundled"`` (the weights shipped in the package), a local
        folder holding ``config.json`` and ``model.safetensors``, or a Hugging Face Hub
        repository id. Loaded on first use, once per process.
    revision : str, optional
        Git revision of a Hub repository (a commit hash pins it exactly).
    top_k : int, default=3
        How many of the best-ranked pipelines are cross-validated (at most all of them).
    cv : int, cross-validation generator or iterable, default=5
        Cross-validation of the candidates: an int is the number of folds of a
        :class:`~sklearn.model_selection.StratifiedKFold` (shuffled with ``random_state``
        when one is given), anything else goes through
        :func:`~sklearn.model_selection.check_cv`.
    scoring : str, callable or None, default="balanced_accuracy"
        The metric that picks the winner among the candidates (a scikit-learn scorer name or
        a scorer callable; None means accuracy). :meth:`score` uses it too. The network
        was trained to predict balanced accuracy. A scorer that reads only probabilities
        (``neg_log_loss``, ``roc_auc_ovr``, ...) ranks the pipelines without
        ``predict_proba`` last, with a note: they are not candidates.
    time_budget : float, optional
        Seconds for the search: the candidates' cross-validation, the refits and the
        ensemble; the one-time model load and the meta-features come first and are not
        counted (``ranking_time_`` reports them). ``fit`` plans the candidates from the
        predictions alone (:mod:`skllmselect.search`), so the same call on the same data
        tries the same candidates in a fresh or a warm process: first the ``top_k`` set,
        each one whose predicted cost (its predicted fit time scaled to this ``cv`` and data
        size, including its refit) fits in what is left, then further down the ranking, the
        candidate with the largest predicted gain in the best score per predicted second,
        while one fits and can matter. Should the clock show the budget running out (the
        predicted costs were too low), time for the winner's refit is kept back, no further
        candidate starts, and a running one whose next fold would end past the budget is
        abandoned, unless it is the first to complete. At least
        one candidate is always cross-validated successfully (if none fits the budget, or
        every one tried failed, the rest are tried over budget, cheapest first, until one
        works). Skipped candidates are listed in ``skipped_`` and in a ``UserWarning``. None
        means no limit: exactly the ``top_k`` best-ranked candidates are cross-validated
        (more only when they all fail).
    ensemble : bool, default=True
        Build a weighted ensemble of the cross-validated candidates (greedy ensemble
        selection with replacement over their out-of-fold probabilities, Caruana et al.
        2004, :mod:`skllmselect.ensemble`) and predict with it when it scores better on the
        folds than the winner alone. Costs the refits of its members, no cross-validation.
    n_jobs : int, optional
        Parallel jobs of each candidate's cross-validation (as in
        :func:`~sklearn.model_selection.cross_validate`).
    random_state : int, RandomState instance or None, default=None
        Seed of the pipelines' own randomness (forests, MLP, ...) and of the fold shuffle.
        The meta-features, and so the recommendation, do not depend on it: they always use
        the seed the training corpus used.

    Attributes
    ----------
    recommendations_ : pandas.DataFrame
        The ranking :meth:`recommend` returns for the training data.
    meta_features_ : pandas.Series
        The dataset's meta-features (NaN where one is undefined), named as
        :data:`skllmselect.metafeatures.METAFEATURE_NAMES`.
    cv_results_ : dict of numpy arrays
        One entry per cross-validated candidate, in the order they were tried:
        ``pipeline``, ``params``, ``recommendation_rank``, ``predicted_score``,
        ``split<i>_test_score``, ``mean_test_score``, ``std_test_score``,
        ``rank_test_score``, ``mean_fit_time``, ``std_fit_time``, ``mean_score_time``,
        ``std_score_time``, ``status`` (``"ok"`` or ``"failed"``), ``error`` and
        ``ensemble_weight`` (0 outside the ensemble).
    best_index_ : int
        Index of the winner in ``cv_results_``.
    best_pipeline_ : str
        Name of the winner.
    best_score_ : float
        Its mean cross-validated score.
    best_estimator_ : sklearn.pipeline.Pipeline
        The winner, refitted on all the data.
    refit_time_ : float
        Seconds spent refitting it (and the ensemble's other members).
    ensemble_ : skllmselect.ensemble.EnsembleClassifier or None
        The ensemble ``predict``, ``predict_proba`` and ``score`` use: its members' names,
        fitted pipelines and weights (also in ``cv_results_["ensemble_weight"]``). None when
        ``ensemble=False`` or when the selection kept the winner alone (then the winner
        predicts).
    ensemble_score_ : float
        The ensemble's mean score on the cross-validation folds, ``best_score_`` when there
        is no ensemble. Optimistic: the ensemble was chosen on those folds.
    ranking_time_ : float
        Seconds before the search: loading the model (on first use in the process), the
        meta-features and the ranking. Not counted by ``time_budget``.
    search_time_ : float
        Seconds of the search: cross-validation, refits and ensemble (what ``time_budget``
        bounds).
    calibration_ : skllmselect.calibration.TemperatureScaling or None
        How ``predict_proba`` turns the winner's decision values into probabilities when it
        has no ``predict_proba`` of its own (its temperature fitted on the out-of-fold
        decision values); None when it has.
    n_splits_ : int
        Number of cross-validation folds actually used: ``cv``, or fewer when an int ``cv``
        was lowered for a small class (see the Notes).
    skipped_ : dict of str to str
        Candidates passed over because of ``time_budget``, with the reason: those of the
        ``top_k`` set whose predicted cost did not fit, and planned ones not started because
        the budget was spent; empty without a budget.
    notes_ : list of str
        What was done to the table before anything read it (columns converted or dropped,
        see the Notes) and to the cross-validation (folds lowered for a small class), one
        sentence each; also given as one :class:`~skllmselect.tabular.PreparationWarning`
        (a ``UserWarning``) and in ``recommendations_.attrs["notes"]``.
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during fit, when X was a DataFrame with string column
        names.

    Notes
    -----
    Input: a numpy array or a pandas DataFrame with numeric, categorical (category, object,
    string), boolean and nullable columns, with missing values (NaN, None, ``pd.NA``). A
    numpy array of mixed Python objects is read column by column (numbers are numeric, the
    rest categorical); a list of lists mixing numbers and strings becomes all strings
    (numpy's doing), so pass a DataFrame instead. Infinite values, and magnitudes beyond
    float32's range (about 3.4e38, where scikit-learn's trees overflow and the scalers
    before them), are refused with an error naming the columns, in ``fit``, ``recommend``
    and ``predict`` alike; replace them with NaN (or rescale). Class labels can be of any
    type.

    Messy tables (:mod:`skllmselect.tabular`): a DataFrame's datetime, period and timedelta
    columns, and text columns of ISO-8601 dates, are used as seconds; identifier-like
    columns (text or category, at least 20 values, 95% of them distinct; integers all
    distinct and named like an ID or counting the rows) and columns without any value are
    dropped; object columns of numbers are read as numbers. Each change is a note in
    ``notes_``. Duplicate column names, complex numbers and cells holding lists or dicts
    are refused with an error naming the column. With an int ``cv``, a class smaller than
    ``cv`` lowers the folds to its size (at least 2), with a note; ``fit`` refuses a ``y``
    whose every class has a single row (``recommend`` takes it).

    ``predict`` (and the other delegating methods) check the columns as scikit-learn does:
    with a DataFrame fitted, missing, extra or reordered columns are a ``ValueError``
    naming them, and a different number of columns always is. Each column is then read as
    the kind it had in ``fit``, through the same preparation: new category levels are
    fine, numbers or dates given as text are parsed (a value that is not one is a
    ``ValueError`` naming the column), numbers where ``fit`` saw categories are read as
    their text, and dropped columns must be present but are ignored.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skllmselect import LLMAlgorithmSelector
    >>> X, y = load_iris(return_X_y=True)
    >>> selector = LLMAlgorithmSelector(top_k=2, random_state=0)
    >>> selector.recommend(X, y).columns.tolist()  # doctest: +SKIP
    ['pipeline', 'predicted_score', 'uncertainty', 'predicted_fit_time', 'estimator']
    >>> selector.fit(X, y).predict(X[:2])  # doctest: +SKIP
    array([0, 0])
    """

    _parameter_constraints: dict = {
        "model": [str, os.PathLike],
        "revision": [str, None],
        "top_k": [Interval(Integral, 1, None, closed="left")],
        "cv": ["cv_object"],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "time_budget": [Interval(Real, 0, None, closed="neither"), None],
        "ensemble": ["boolean"],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
    }

    def __init__(self, model=loading.BUNDLED, revision=None, top_k=3, cv=5,
                 scoring="balanced_accuracy", time_budget=None, ensemble=True, n_jobs=None,
                 random_state=None):
        self.model = model
        self.revision = revision
        self.top_k = top_k
        self.cv = cv
        self.scoring = scoring
        self.time_budget = time_budget
        self.ensemble = ensemble
        self.n_jobs = n_jobs
        self.random_state = random_state

    # ------------------------------------------------------------------------ recommend

    def recommend(self, X, y):
        """Rank every portfolio pipeline for this dataset, best first; fit nothing.

        Parameters
        ----------
        X : array-like or pandas.DataFrame of shape (n_samples, n_features)
            Features (see the class Notes for what is accepted).
        y : array-like of shape (n_samples,)
            Class labels, at least two classes, none missing.

        Returns
        -------
        pandas.DataFrame
            One row per pipeline, indexed by rank (1 = best), with columns ``pipeline``
            (its name), ``predicted_score`` (predicted cross-validated balanced accuracy),
            ``uncertainty`` (the model's standard deviation of that prediction),
            ``predicted_fit_time`` (predicted seconds of a 5-fold cross-validation on up to
            2,000 rows of this data) and ``estimator`` (the unfitted pipeline).
            ``.attrs["notes"]`` lists what was done to the table first (see the class Notes);
            ``.attrs["meta_features"]`` is the meta-feature vector the ranking read (a dict,
            name -> value, in the model's order); ``.attrs["top_k"]`` is how many of the
            first rows were chosen together as a set (the rest follow by predicted score).
        """
        self._validate_params()
        description = describe(X, y, estimator_name=type(self).__name__)
        _start(str(self.model), self.revision)
        table = self._rank(description.vector, description.X, description.y, self._seed())
        # The ranking's own notes (a pipeline that cannot fit these labels) are not warned:
        # the table already shows that pipeline last.
        table.attrs["notes"] = list(description.plan.notes) + table.attrs["notes"]
        _warn_notes(description.plan.notes)
        return table

    def _seed(self):
        """An int (or None) for the pipelines and the fold shuffle, from ``random_state``."""
        if self.random_state is None or isinstance(self.random_state, Integral):
            return self.random_state
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _rank(self, vector, X, y, seed, cv=None, weighted=False) -> pd.DataFrame:
        """The ranked table for this meta-feature vector and these (prepared) X, y.

        The first ``top_k`` rows are chosen together (:mod:`skllmselect.ranking`), the rest
        follow by predicted score; pipelines that cannot fit these labels under this ``cv``
        come last, each with a note in ``table.attrs["notes"]``. ``cv``: the candidates'
        cross-validation when the caller has it (``fit``), else made here. ``weighted``: the
        fit has sample weights, which a pipeline must accept to be a candidate.
        """
        network, tokenizer, residuals, forest = _load(str(self.model), self.revision)
        names = list(network.config.pipeline_names)
        unmet = unmet_requirements(self._training_labels(X, y, seed, cv))
        unmet.update((name, reason) for name, reason in self._unmet_by_parameters(
            names, seed, weighted).items() if name not in unmet)
        eligible = np.array([name not in unmet for name in names])
        prediction = predict_and_rank(network, tokenizer, residuals, vector, self.top_k,
                                      eligible=eligible, forest=forest)
        order = prediction.order
        table = pd.DataFrame({
            "pipeline": [names[i] for i in order],
            "predicted_score": prediction.scores[order],
            "uncertainty": prediction.uncertainty[order],
            "predicted_fit_time": prediction.fit_time[order],
            "estimator": [make_pipeline_by_name(names[i], random_state=seed) for i in order],
        }, index=pd.RangeIndex(1, len(order) + 1, name="rank"))
        table.attrs["notes"] = [f"{name} ranked last: {reason}." for name, reason in unmet.items()]
        table.attrs["top_k"] = min(self.top_k, len(table))  # the first rows: chosen as a set
        table.attrs["n_eligible"] = int(eligible.sum())  # the first rows: can run here
        # A plain dict, not a Series: pandas compares attrs with == whenever it combines frames
        # (concat, and pandas 2's repr of a wide table), which a Series makes ambiguous.
        table.attrs["meta_features"] = dict(zip(METAFEATURE_NAMES, vector.tolist(), strict=True))
        outside = coverage_notes(vector, tokenizer, n_rows=X.shape[0],
                                 n_classes=len(pd.unique(y)))
        if outside:
            text = "This table lies outside what the model was trained on: " + "; ".join(
                outside) + ". The ranking extrapolates; trust the cross-validated scores."
            table.attrs["notes"].append(text)
            warnings.warn(text, CoverageWarning, stacklevel=3)
        return table

    def _residuals_in_order(self, table):
        """The model's training residuals (m, P), columns in the ranked table's row order."""
        network, _, residuals, _ = _load(str(self.model), self.revision)
        if residuals is None:
            return None
        names = list(network.config.pipeline_names)
        return np.asarray(residuals)[:, [names.index(name) for name in table["pipeline"]]]

    def _unmet_by_parameters(self, names, seed, weighted) -> dict[str, str]:
        """Pipelines that cannot serve this ``scoring`` or these sample weights, with why.

        A scorer that reads only probabilities (``neg_log_loss``, ``roc_auc_ovr``, ...)
        cannot score a pipeline without ``predict_proba`` (ridge, linear_svc, svc_rbf): such
        a pipeline would fail its cross-validation, so it is ranked last instead. (Its
        probabilities are calibrated only once it has won: see ``calibration_``.)
        """
        methods = _scorer_methods(self.scoring)
        unmet = {}
        if not weighted and not {"predict_proba", "predict_log_proba"}.issuperset(methods):
            return unmet  # every pipeline has predict or decision_function: nothing to check
        for name in names:
            pipeline = make_pipeline_by_name(name, random_state=seed)
            if methods and not any(hasattr(pipeline, m) for m in methods):
                unmet[name] = (f"scoring={self.scoring!r} reads {' or '.join(methods)}, "
                               "which this pipeline does not have")
            elif weighted and not has_fit_parameter(pipeline.steps[-1][1], "sample_weight"):
                unmet[name] = (f"{type(pipeline.steps[-1][1]).__name__} does not accept "
                               "sample_weight, and fit was given sample weights")
        return unmet

    def _training_labels(self, X, y, seed, cv=None) -> list:
        """The labels of every training set ``fit`` would use: each fold's, then all rows."""
        try:
            cv = self._make_cv(y, seed) if cv is None else cv
            folds = [y[train] for train, _ in cv.split(X, y)]
        except ValueError:  # e.g. every class a single row (fit refuses it), or a group CV
            folds = []
        return [*folds, y]

    # ------------------------------------------------------------------------ fit

    # fit consumes sample_weight (through **params, see fit) as well as groups: declared here
    # so that set_fit_request(sample_weight=..., groups=...) exists under metadata routing.
    __metadata_request__fit = {"sample_weight": None, "groups": None}

    def fit(self, X, y, groups=None, **params):
        """Recommend, cross-validate the best-ranked pipelines, refit the winner on all data.

        Parameters
        ----------
        X : array-like or pandas.DataFrame of shape (n_samples, n_features)
            Features (see the class Notes for what is accepted).
        y : array-like of shape (n_samples,)
            Class labels, at least two classes, none missing.
        groups : array-like of shape (n_samples,), optional
            Group labels for a group splitter given as ``cv`` (``GroupKFold``,
            ``LeaveOneGroupOut``, ...): passed to its ``split``. Other splitters ignore it.
        **params : dict
            ``sample_weight`` (array-like of shape (n_samples,), non-negative): the weight of
            each row in the candidates' fits (to their final step), in their cross-validated
            scores (to the scorer), in the winner's refit and in its probability calibration.
            Only the pipelines that accept it are candidates: the others (k-nearest
            neighbours, discriminant analysis, ...) are ranked last, with a note, so a
            weighted fit never silently ignores the weights. No other parameter is accepted.
            ``sample_weight`` is taken here rather than as a named parameter, as
            GridSearchCV does: a named one asks scikit-learn's estimator checks for integer
            weights to equal repeated rows, which no selector whose ranking and folds read
            the rows can give. Under metadata routing, request both with
            ``set_fit_request(sample_weight=True, groups=True)``.

        Returns
        -------
        self : LLMAlgorithmSelector
            The fitted selector.

        Raises
        ------
        ValueError
            Bad data (see the class Notes: infinity or values beyond float32, duplicate
            column names, no usable column, one class, every class a single row, a
            cross-validation fold without any value to train on), each naming the column or
            class and the fix; a target that looks continuous (a regression target); a
            group splitter without ``groups``; a bad ``sample_weight``; or every portfolio
            pipeline failed to cross-validate or refit (the errors are listed).
        TypeError
            Cells holding lists, dicts or arrays; column names of mixed types (as
            scikit-learn).
        """
        start = _clock()
        self._validate_params()
        _log.info("computing the meta-features")
        unknown = sorted(set(params) - {"sample_weight"})
        if unknown:
            raise TypeError(
                f"fit() got unexpected parameter(s) {unknown}: it takes X, y, groups and "
                "sample_weight."
            )
        description = describe(X, y, estimator_name=type(self).__name__)
        _start(str(self.model), self.revision)
        validate_data(self, description.X_checked, description.y, reset=True,
                      skip_check_array=True)
        X_checked = description.X_checked
        self._fit_columns = list(X_checked.columns) if isinstance(X_checked, pd.DataFrame) \
            else None
        # Columns converted (dates) or dropped (identifiers, all missing): the meta-features,
        # the candidates and the winner all see the prepared table, and so does predict.
        plan, X, y = description.plan, description.X, description.y
        X_fit = fill_missing_categories(X)  # what the pipelines get (see its docstring)
        sample_weight = params.get("sample_weight")
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X_fit, ensure_non_negative=True)
            if not sample_weight.any():
                raise ValueError("sample_weight is zero for every row: there is nothing to "
                                 "fit. Give some rows a positive weight.")
        seed = self._seed()
        # The folds, drawn once here for every candidate (the same folds for all, so their
        # scores and out-of-fold decision values compare), with the groups for a group
        # splitter. Our StratifiedKFold warns at each split when a class has a single row
        # (the fold note says so already); silencing that per candidate would change the
        # process-wide warnings filters while other threads run.
        cv = check_cv(self._split(self._make_cv(y, seed), X_fit, y, groups))
        _, fold_note = self._folds(y)
        _check_training_folds(X_fit, y, cv)
        notes = list(plan.notes) + ([fold_note] if fold_note else [])
        _warn_notes(notes)
        vector = description.vector
        _log.info("ranking the pipelines")
        table = self._rank(vector, X, y, seed, cv, weighted=sample_weight is not None)
        notes += table.attrs["notes"]
        table.attrs["notes"] = notes
        n_splits = cv.get_n_splits(X, y)

        # The plan (skllmselect.search): the top_k set, or with a time budget an anytime plan
        # made from the predictions alone; the budget's clock starts here, after the one-time
        # load and the meta-features.
        self.ranking_time_ = _clock() - start
        search_start = _clock()
        costs = predicted_costs(table["predicted_fit_time"].to_numpy(), X.shape[0], n_splits)
        budget = self.time_budget
        search = plan_search(table["predicted_score"].to_numpy(), costs,
                           table.attrs["n_eligible"], min(self.top_k, len(table)), budget,
                           residuals=self._residuals_in_order(table),
                           uncertainty=table["uncertainty"].to_numpy())
        skipped = {table["pipeline"].iat[p]: why for p, why in search.skipped.items()}
        tried = []
        for i, position in enumerate(search.positions):
            # The safety stop, for predicted costs that were too low. The first candidate
            # that works always completes; after it, what the best one's refit on all rows
            # will take is kept back, and no candidate starts, nor a further fold of one,
            # that the clock says would end past the budget.
            deadline = None
            if budget is not None and any(r["status"] == "ok" for r in tried):
                deadline = search_start + budget - _refit_reserve(tried, n_splits)
                if _clock() >= deadline:
                    skipped.update((table["pipeline"].iat[p], f"time_budget={budget:g} s was "
                                    f"spent before it (predicted {costs[p]:.3g} s)")
                                   for p in search.positions[i:])
                    break
            record = self._cross_validate(table, position, X_fit, y, cv, sample_weight,
                                          deadline)
            if record is None:
                skipped[table["pipeline"].iat[position]] = (
                    f"stopped: time_budget={budget:g} s ran out during its cross-validation "
                    f"(predicted {costs[position]:.3g} s)")
                continue
            tried.append(record)
        if budget is None:  # every candidate of the set failed: go on down the ranking
            position = len(search.positions)
            while not any(r["status"] == "ok" for r in tried) and position < len(table):
                tried.append(self._cross_validate(table, position, X_fit, y, cv,
                                                  sample_weight))
                position += 1
        # Refit the best candidate on all rows. Should none be left (nothing fitted the
        # budget, every candidate tried failed, or the ones that cross-validated cannot be
        # refit on all rows), go on with the rest, cheapest first and over budget, until one
        # works: a fit that returns nothing is worse than one over its budget.
        done = {r["pipeline"] for r in tried}
        rest = [p for p in np.argsort(costs, kind="stable").tolist()
                if table["pipeline"].iat[p] not in done]
        while True:
            best, best_estimator, refit_time = self._refit_best(table, tried, X_fit, y,
                                                                sample_weight)
            if best_estimator is not None or not rest:
                break
            position = rest.pop(0)
            skipped.pop(table["pipeline"].iat[position], None)
            tried.append(self._cross_validate(table, position, X_fit, y, cv, sample_weight))
            tried[-1]["note"] = "cheapest; over budget"

        self.recommendations_ = table
        self.notes_ = notes
        self._table_plan = plan
        self.meta_features_ = pd.Series(vector, index=list(METAFEATURE_NAMES),
                                        name="metafeatures")
        self.skipped_ = skipped
        self.cv_results_ = _cv_results(tried, n_splits)
        self.n_splits_ = n_splits
        self._warn(tried, skipped)

        if best_estimator is None:
            errors = "; ".join(f"{r['pipeline']}: {r['error']}" for r in tried)
            raise ValueError(
                f"None of the {len(tried)} pipeline(s) tried could be cross-validated and "
                f"fitted on this data ({errors}). Check the data, or raise top_k to try more "
                "pipelines."
            )
        self.best_pipeline_ = best["pipeline"]
        self.best_index_ = [r["pipeline"] for r in tried].index(self.best_pipeline_)
        self.best_score_ = float(self.cv_results_["mean_test_score"][self.best_index_])
        self.best_estimator_ = best_estimator
        self.refit_time_ = refit_time
        self.classes_ = self.best_estimator_.classes_
        self.calibration_ = None
        if not hasattr(best_estimator, "predict_proba"):
            decision, labels, weight = best["out_of_fold"]
            self.calibration_ = TemperatureScaling(self.classes_).fit(decision, labels, weight)
        self.ensemble_, self.ensemble_score_ = None, self.best_score_
        weights = np.zeros(len(tried))
        # The ensemble's refits were planned with the candidates (each one's predicted cost
        # includes its refit); the safety stop rules out refits the clock says won't fit.
        if self.ensemble:
            _log.info("choosing an ensemble of the %d candidates", len(tried))
            deadline = None if budget is None else search_start + budget
            weights = self._fit_ensemble(table, tried, best, X_fit, y, cv, sample_weight,
                                         deadline)
        self.cv_results_["ensemble_weight"] = weights
        self.search_time_ = _clock() - search_start
        return self

    def _fit_ensemble(self, table, tried, best, X, y, cv, sample_weight,
                      deadline=None) -> np.ndarray:
        """Greedy ensemble selection over the candidates' out-of-fold probabilities.

        Sets ``ensemble_`` (None when the selection keeps the winner alone) and
        ``ensemble_score_``; refits the members other than the winner on all rows (one whose
        refit fails is left out, and the score recomputed without it). With a ``deadline``
        (``time_budget``), an ensemble whose refits, each as long as the member's fold fits
        scaled to all rows, would end past it is not formed. Returns each tried candidate's
        weight, in ``tried`` order.
        """
        classes = self.classes_
        ok = [i for i, r in enumerate(tried) if r["status"] == "ok" and r.get("fold_proba")]
        weights = np.zeros(len(tried))
        if len(ok) < 2:
            return weights
        calibrations = {i: None if tried[i]["proba_kind"] == "proba" else
                        TemperatureScaling(classes).fit(*tried[i]["out_of_fold"]) for i in ok}
        probabilities = [tried[i]["fold_proba"] if calibrations[i] is None else
                         [calibrations[i].predict_proba(d) for d in tried[i]["fold_proba"]]
                         for i in ok]
        folds = [(_rows(X, test), y[test], None if sample_weight is None else sample_weight[test])
                 for _, test in cv.split(X, y)]
        scorer = get_scorer(self.scoring) if isinstance(self.scoring, str) else self.scoring
        score = fold_scorer(self.scoring, scorer, classes, folds)
        counts, ensemble_score = select(probabilities, score)
        if deadline is not None:
            n_splits = len(folds)
            refits = sum(_refit_reserve([tried[ok[j]]], n_splits) for j in np.flatnonzero(counts)
                         if tried[ok[j]] is not best)
            if _clock() + refits > deadline:
                return weights
        members = {}
        for j in np.flatnonzero(counts):
            record = tried[ok[j]]
            if record is best:
                members[j] = (self.best_estimator_, self.calibration_)
                continue
            position = table.index[table["pipeline"] == record["pipeline"]][0]
            _log.info("refitting %s on all rows (ensemble member)", record["pipeline"])
            tick = _clock()
            try:
                estimator = _fit(clone(table.at[position, "estimator"]), X, y, sample_weight)
            except Exception as err:  # leave it out, say why
                record["note"] = (f"left out of the ensemble: its refit on all rows failed: "
                                  f"{type(err).__name__}: {err}")
                counts[j] = 0
                continue
            self.refit_time_ += _clock() - tick
            members[j] = (estimator, calibrations[ok[j]])
        if len(members) < 2:
            return weights
        if counts.sum() != sum(counts[j] for j in members):  # a member was left out: rescore
            kept = [probabilities[j] for j in members]
            mixed = [sum(counts[j] * p[f] for j, p in zip(members, kept, strict=True))
                     / counts.sum() for f in range(len(folds))]
            ensemble_score = float(np.mean([score(f, mixed[f]) for f in range(len(folds))]))
        share = counts / counts.sum()
        self.ensemble_ = EnsembleClassifier(
            [tried[ok[j]]["pipeline"] for j in members], [m[0] for m in members.values()],
            [m[1] for m in members.values()], [share[j] for j in members], classes)
        self.ensemble_score_ = float(ensemble_score)
        weights[[ok[j] for j in members]] = [share[j] for j in members]
        return weights

    @staticmethod
    def _split(cv, X, y, groups) -> list:
        """The (train, test) folds of ``cv``, with ``groups`` for a group splitter."""
        try:
            return list(cv.split(X, y, groups))
        except ValueError as err:
            if groups is None and "groups" in str(err):
                raise ValueError(
                    f"cv={cv!r} splits by groups, but fit got none: pass them as "
                    "fit(X, y, groups=...), one group label per row."
                ) from err
            raise

    @staticmethod
    def _refit_best(table, tried, X, y, sample_weight=None):
        """``(record, estimator, seconds)`` of the best candidate that refits on all rows.

        Candidates are taken by cross-validated score; one whose refit fails (a model's
        numeric limit that the smaller training folds did not reach) is marked failed, with
        the reason. ``(None, None, 0.0)`` when no candidate is left.
        """
        while True:
            ok = [r for r in tried if r["status"] == "ok"]
            if not ok:
                return None, None, 0.0
            best = max(ok, key=lambda r: float(np.mean(r["test_score"])))  # first of ties
            position = table.index[table["pipeline"] == best["pipeline"]][0]
            _log.info("refitting %s on all rows", best["pipeline"])
            tick = _clock()
            try:
                estimator = _fit(clone(table.at[position, "estimator"]), X, y, sample_weight)
            except Exception as err:  # as in cross-validation: pass it over, say why
                score = float(np.mean(best.pop("test_score")))
                best.update(status="failed", error=f"cross-validated {score:.4g}, but the "
                            f"refit on all rows failed: {type(err).__name__}: {err}")
                continue
            return best, estimator, _clock() - tick

    def _make_cv(self, y, seed):
        """The candidates' cross-validation (an int ``cv``: see :meth:`_folds`)."""
        if not isinstance(self.cv, Integral):
            return check_cv(self.cv, y, classifier=True)
        n_splits, _ = self._folds(y)
        return StratifiedKFold(n_splits=n_splits, shuffle=seed is not None, random_state=seed)

    def _folds(self, y) -> tuple[int | None, str | None]:
        """Folds of an int ``cv`` for this y, and a note when they had to be lowered.

        A StratifiedKFold wants every class in every fold: with a class of fewer rows than
        folds, the folds are lowered to its row count, and to 2 for a class of a single row
        (which then is in one test fold only, and missing from that fold's training rows).
        """
        if not isinstance(self.cv, Integral):
            return None, None
        counts = pd.Series(y).value_counts(sort=True, ascending=True)
        smallest = int(counts.iloc[0])
        if counts.iloc[-1] < 2:
            raise ValueError(
                f"Every one of the {len(counts)} classes in y has a single row, so no "
                "cross-validation can test a class it also trained on. Pass more rows (at "
                "least two of some class), or call recommend(X, y), which needs no "
                "cross-validation."
            )
        if smallest >= self.cv:
            return self.cv, None
        rare = [plain(label) for label in counts.index[counts.to_numpy() < self.cv]]
        shown = ", ".join(repr(label) for label in rare[:10]) + (
            f", ... ({len(rare)} in all)" if len(rare) > 10 else "")
        n_splits = max(smallest, 2)
        note = (f"cv={self.cv} lowered to {n_splits} folds: the smallest class has only "
                f"{smallest} row(s) (classes with fewer than {self.cv}: {shown}), and "
                "stratified cross-validation wants each class in every fold.")
        if smallest < 2:
            note += (" A class with a single row is tested in one fold only, and that "
                     "fold's candidates are trained without it: drop or merge such classes "
                     "for a fairer comparison.")
        return n_splits, note

    def _cross_validate(self, table, position, X, y, cv, sample_weight=None,
                        deadline=None) -> dict | None:
        """Cross-validate one candidate; a failure is recorded, not raised.

        ``deadline`` (a reading of ``_clock``): should the next fold, taking as long as the
        ones before it, end past it, the candidate is abandoned and None returned
        (``time_budget``'s safety stop).

        Besides the scores, a candidate without ``predict_proba`` keeps its out-of-fold
        decision values (``record["out_of_fold"]``: decision columns, labels, weights of the
        test rows of every fold that trained on all classes): should it win, its
        probabilities are calibrated on them (:mod:`skllmselect.calibration`), no extra fit.
        """
        record = {"pipeline": table["pipeline"].iat[position], "recommendation_rank": position + 1,
                  "predicted_score": table["predicted_score"].iat[position],
                  "status": "ok", "error": "", "note": ""}
        estimator = table["estimator"].iat[position]
        _log.info("cross-validating %s (%d folds)", record["pipeline"], cv.get_n_splits(),
                  extra={"candidate": record["pipeline"]})
        scorer = check_scoring(estimator, self.scoring)
        classes = np.unique(y)
        try:
            # Folds come back one by one (in order), so a deadline can stop the rest.
            folds = []
            for fold in Parallel(n_jobs=self.n_jobs, return_as="generator")(
                    delayed(_fit_and_score)(clone(estimator), X, y, sample_weight, train,
                                            test, scorer, classes, keep_proba=self.ensemble)
                    for train, test in cv.split(X, y)):
                folds.append(fold)
                if deadline is not None and len(folds) < cv.get_n_splits():
                    per_fold = np.mean([f["fit_time"] + f["score_time"] for f in folds])
                    if _clock() + per_fold > deadline:
                        return None
        except Exception as err:  # one broken candidate must not end the search
            record.update(status="failed", error=f"{type(err).__name__}: {err}")
            return record
        record.update(test_score=np.array([f["score"] for f in folds]),
                      fit_time=np.array([f["fit_time"] for f in folds]),
                      score_time=np.array([f["score_time"] for f in folds]))
        kept = [f for f in folds if f["decision"] is not None]
        if not hasattr(estimator, "predict_proba"):
            record["out_of_fold"] = (
                np.concatenate([f["decision"] for f in kept]) if kept
                else np.empty((0, len(classes))),
                np.concatenate([y[f["test"]] for f in kept]) if kept else y[:0],
                None if sample_weight is None else np.concatenate(
                    [sample_weight[f["test"]] for f in kept] or [sample_weight[:0]]))
        if self.ensemble and all(f["proba"] is not None for f in folds):
            # Each fold's test-row probabilities (decision values for a candidate without
            # them: calibrated only if the ensemble needs it), for the ensemble selection.
            record["fold_proba"] = [f["proba"] for f in folds]
            record["proba_kind"] = "proba" if hasattr(estimator, "predict_proba") else "decision"
        return record

    def _warn(self, tried, skipped) -> None:
        failed = [r for r in tried if r["status"] != "ok"]
        if failed:
            warnings.warn(
                f"{len(failed)} candidate pipeline(s) failed (in cross-validation or refit) "
                "and were passed over: "
                + "; ".join(f"{r['pipeline']} ({r['error']})" for r in failed)
                + ". See cv_results_['error'].",
                UserWarning, stacklevel=3)
        if skipped:
            over = " The cheapest candidate was tried although over budget." if any(
                r["note"] for r in tried) else ""
            warnings.warn(
                f"time_budget={self.time_budget:g} s: skipped {len(skipped)} of the "
                f"best-ranked pipelines: "
                + "; ".join(f"{name} ({why})" for name, why in skipped.items())
                + f".{over} Raise time_budget to try them; see skipped_.",
                UserWarning, stacklevel=3)

    # ------------------------------------------------------------------------ delegation

    def _check_X_predict(self, X):
        """Validate X like fit did, and hand it to the pipeline in the form it was fitted on."""
        check_is_fitted(self)
        X = check_X(X)
        validate_data(self, X, reset=False, skip_check_array=True)
        check_finite(X)
        # The pipelines name columns by the table's labels (positions for an array): give
        # them the labels they were fitted with, whichever container comes now.
        columns = self._fit_columns
        if columns is None and isinstance(X, pd.DataFrame):
            X = X.set_axis(range(X.shape[1]), axis=1)
        if columns is not None and not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(X, columns=columns).infer_objects()
        plan = getattr(self, "_table_plan", None)
        return fill_missing_categories(X if plan is None else plan.transform(X))

    @available_if(_estimator_has("predict"))
    def predict(self, X):
        """Class labels predicted by ``ensemble_``, or ``best_estimator_`` without one.

        Parameters
        ----------
        X : array-like or pandas.DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        X = self._check_X_predict(X)
        if self.ensemble_ is not None:
            return self.ensemble_.predict(X)
        return self.best_estimator_.predict(X)

    def predict_proba(self, X):
        """Class probabilities, whichever pipeline won.

        The weighted average of the members' probabilities with an ensemble
        (``ensemble_``). Without one, from ``best_estimator_`` when it has
        ``predict_proba``; otherwise (ridge,
        linear_svc, svc_rbf) its decision values calibrated on their out-of-fold values
        from the cross-validation (``calibration_``: temperature scaling, no extra fit),
        so that the most probable class is the one ``predict`` gives.

        Parameters
        ----------
        X : array-like or pandas.DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; each row sums to 1.
        """
        X = self._check_X_predict(X)
        if self.ensemble_ is not None:
            return self.ensemble_.predict_proba(X)
        if self.calibration_ is None:
            return self.best_estimator_.predict_proba(X)
        return self.calibration_.predict_proba(decision_columns(self.best_estimator_, X))

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba` (``-inf`` where a probability is 0).

        Parameters
        ----------
        X : array-like or pandas.DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        X = self._check_X_predict(X)
        if self.ensemble_ is not None:
            with np.errstate(divide="ignore"):
                return np.log(self.ensemble_.predict_proba(X))
        if self.calibration_ is not None:
            return self.calibration_.predict_log_proba(decision_columns(self.best_estimator_, X))
        if hasattr(self.best_estimator_, "predict_log_proba"):
            return self.best_estimator_.predict_log_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(self.best_estimator_.predict_proba(X))

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of ``best_estimator_`` (only when it has one and no ensemble won).

        Parameters
        ----------
        X : array-like or pandas.DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        X = self._check_X_predict(X)
        return self.best_estimator_.decision_function(X)

    def score(self, X, y, sample_weight=None):
        """The ``scoring`` metric of the fitted selector on (X, y), as GridSearchCV's ``score``.

        With the default ``scoring="balanced_accuracy"`` this is balanced accuracy, the
        metric that chose the winner (``best_score_``), not the plain accuracy of
        ``ClassifierMixin.score``; ``scoring=None`` gives accuracy.

        Parameters
        ----------
        X : array-like or pandas.DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        float
        """
        check_is_fitted(self)
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        if self.scoring is None:
            return super().score(X, y, **kwargs)  # accuracy of predict
        return float(check_scoring(self, self.scoring)(self, X, y, **kwargs))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags


def _refit_reserve(tried: list[dict], n_splits: int) -> float:
    """Seconds to keep back for refitting the best candidate so far on all rows.

    Its mean fold fit, scaled from the (k-1)/k of the rows a fold trains on to all of them.
    """
    ok = [r for r in tried if r["status"] == "ok"]
    best = max(ok, key=lambda r: float(np.mean(r["test_score"])))
    return float(np.mean(best["fit_time"])) * n_splits / max(n_splits - 1, 1)


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


def _rows(X, rows):
    return X.iloc[rows] if isinstance(X, pd.DataFrame) else X[rows]


def _fit(pipeline, X, y, sample_weight=None):
    """Fit a portfolio pipeline, the weights going to its final step (the model).

    The preprocessing steps (imputers, scalers, encoders) are fitted unweighted, then the
    model with the weights: called directly, so that it works the same with and without
    scikit-learn's metadata routing (under which ``Pipeline.fit`` would ask every scaler
    whether it wants the weights).
    """
    if sample_weight is None:
        return pipeline.fit(X, y)
    transformed = pipeline[:-1].fit_transform(X, y)
    pipeline.steps[-1][1].fit(transformed, y, sample_weight=sample_weight)
    return pipeline


def _fit_and_score(estimator, X, y, sample_weight, train, test, scorer, classes,
                   keep_proba=False) -> dict:
    """One fold: fit on train, score on test; decision values on test for calibration.

    ``keep_proba``: also the test rows' probabilities (decision values for a pipeline
    without them), one column per class of ``classes`` (0, or -inf for a decision value,
    for a class the fold did not train on), for the ensemble selection.
    """
    weight = None if sample_weight is None else sample_weight[train]
    tick = time.perf_counter()  # measurements, not the time_budget's clock
    _fit(estimator, _rows(X, train), y[train], weight)
    fit_time = time.perf_counter() - tick
    X_test, y_test = _rows(X, test), y[test]
    kwargs = {} if sample_weight is None else {"sample_weight": sample_weight[test]}
    tick = time.perf_counter()
    score = float(scorer(estimator, X_test, y_test, **kwargs))
    score_time = time.perf_counter() - tick
    decision = None
    # Decision values on the held-out rows of a fold that saw every class (their columns
    # then are the classes'), for a candidate without probabilities of its own.
    if (not hasattr(estimator, "predict_proba") and hasattr(estimator, "decision_function")
            and np.array_equal(estimator.classes_, classes)):
        decision = decision_columns(estimator, X_test)
    proba = None
    if keep_proba and hasattr(estimator, "predict_proba"):
        proba = _in_columns(estimator.predict_proba(X_test), estimator.classes_, classes, 0.0)
    elif keep_proba and hasattr(estimator, "decision_function"):
        proba = decision if decision is not None else _in_columns(
            decision_columns(estimator, X_test), estimator.classes_, classes, -np.inf)
    return {"score": score, "fit_time": fit_time, "score_time": score_time,
            "decision": decision, "proba": proba, "test": test}


def _in_columns(values, own_classes, classes, fill) -> np.ndarray:
    """Columns of ``own_classes`` placed among those of ``classes`` (the rest ``fill``)."""
    if np.array_equal(own_classes, classes):
        return np.asarray(values, dtype=float)
    out = np.full((len(values), len(classes)), fill, dtype=float)
    out[:, np.searchsorted(classes, own_classes)] = values
    return out


def _check_training_folds(X, y, cv) -> None:
    """Refuse folds whose training rows have no value in any column (nothing to learn).

    The portfolio's imputers drop a column without a value, so a fold in which every column
    is missing on the training rows would fail every candidate, deep inside scikit-learn.
    """
    present = X.notna().to_numpy() if isinstance(X, pd.DataFrame) else ~pd.isna(X)
    if present.all():
        return
    n_splits = cv.get_n_splits(X, y)
    for i, (train, _) in enumerate(cv.split(X, y)):
        if present[train].any():
            continue
        counts = present.sum(axis=0)
        best = int(np.argmax(counts))
        label = X.columns[best] if isinstance(X, pd.DataFrame) else best
        raise ValueError(
            f"In cross-validation fold {i + 1} of {n_splits}, no column of X has a value on "
            f"the {len(train)} training rows: every candidate would have nothing to learn "
            f"from. The most complete column, {plain(label)!r}, has values in only "
            f"{int(counts[best])} of {X.shape[0]} rows. Pass more complete columns or more "
            "rows, or fewer folds (cv=2)."
        )


def _warn_notes(notes) -> None:
    """The preparation notes as one warning (the first ones in full, then a count)."""
    if not notes:
        return
    shown = list(notes[:_NOTES_SHOWN])
    if len(notes) > _NOTES_SHOWN:
        shown.append(f"... and {len(notes) - _NOTES_SHOWN} more")
    warnings.warn("LLMAlgorithmSelector prepared the table: " + " ".join(shown)
                  + " (see notes_ after fit, or the recommendation's .attrs['notes'])",
                  PreparationWarning, stacklevel=3)


_NOTES_SHOWN = 10


def _cv_results(tried: list[dict], n_splits: int) -> dict:
    """GridSearchCV-shaped results of the candidates, in the order they were tried."""
    nan = np.full(n_splits, np.nan)
    test = np.array([r.get("test_score", nan) for r in tried], dtype=float)  # (n, k)
    fit = np.array([r.get("fit_time", nan) for r in tried], dtype=float)
    score = np.array([r.get("score_time", nan) for r in tried], dtype=float)
    names = [r["pipeline"] for r in tried]
    mean = test.mean(axis=1)
    # Rank 1 is best; failed candidates (NaN) share the last rank, as in GridSearchCV.
    finite = np.where(np.isfinite(mean), mean, -np.inf)
    rank = np.array([1 + int(np.sum(finite > m)) for m in finite], dtype=np.int32)
    if not np.isfinite(mean).all():
        rank[~np.isfinite(mean)] = int(np.isfinite(mean).sum()) + 1
    results = {
        "pipeline": np.array(names, dtype=object),
        "params": [{"pipeline": n} for n in names],
        "recommendation_rank": np.array([r["recommendation_rank"] for r in tried]),
        "predicted_score": np.array([r["predicted_score"] for r in tried], dtype=float),
    }
    for i in range(n_splits):
        results[f"split{i}_test_score"] = test[:, i]
    results.update(
        mean_test_score=mean,
        std_test_score=test.std(axis=1),
        rank_test_score=rank,
        mean_fit_time=fit.mean(axis=1),
        std_fit_time=fit.std(axis=1),
        mean_score_time=score.mean(axis=1),
        std_score_time=score.std(axis=1),
        status=np.array([r["status"] for r in tried], dtype=object),
        error=np.array([r["error"] for r in tried], dtype=object),
    )
    return results
