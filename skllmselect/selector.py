"""LLMAlgorithmSelector: ask the pretrained selector which pipelines suit a dataset, then fit them.

The user-facing flow. ``recommend(X, y)`` computes the dataset's meta-features, tokenizes them
and runs one forward pass of the selector network: a ranked table of every portfolio pipeline
with its predicted score, the model's uncertainty about it and a predicted fit time. ``fit``
then cross-validates the best-ranked pipelines (the GridSearchCV shape: ``cv_results_``,
``best_estimator_``, ``best_score_``) and delegates prediction to the winner.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from functools import partial
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import StratifiedKFold, check_cv
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    check_is_fitted,
    validate_data,
)

from skllmselect import candidates, loading, model_cache, tuning
from skllmselect.calibration import TemperatureScaling, decision_columns
from skllmselect.coverage import CoverageWarning, coverage_notes
from skllmselect.describe import describe
from skllmselect.ensemble import form
from skllmselect.metafeatures import METAFEATURE_NAMES
from skllmselect.portfolio import make_pipeline_by_name, unmet_by_parameters, unmet_requirements
from skllmselect.prediction import predict_and_rank
from skllmselect.search import plan_search, predicted_costs
from skllmselect.tabular import fill_missing_categories, warn_notes
from skllmselect.validation import (
    check_fit_params,
    check_sample_weight,
    check_training_folds,
    check_X_predict,
    split_folds,
    stratified_folds,
)

# The clock of time_budget (a name of its own so that tests can drive it).
_clock = time.perf_counter

# What fit is doing, one INFO record per step (ranking, each candidate, the refit): the
# command line shows them as progress; a library user can read them with logging.
_log = logging.getLogger(__name__)

# ------------------------------------------------------------------------------ the network


def load_network(model=loading.BUNDLED, revision=None):
    """Return ``(network, tokenizer)`` for ``model``, loaded once per process and revision.

    Errors are :func:`skllmselect.loading.load`'s: a missing folder, a damaged
    ``model.safetensors`` or ``config.json``, or a model made for other code, each with a
    message that names the file and the fix.
    """
    return model_cache.load(str(model), revision)[:2]


def _logits(proba: np.ndarray) -> np.ndarray:
    """Decision values whose softmax is ``proba`` (binary: the log-odds of the second class),
    clipped so that a probability of 0 or 1 gives a large finite value, not infinity."""
    log = np.log(np.clip(proba, 1e-15, 1.0))
    if proba.shape[1] == 2:
        return log[:, 1] - log[:, 0]
    return log - log.mean(axis=1, keepdims=True)


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
    alone, predicts with it (``ensemble_``). Otherwise ``predict`` delegates to the winner;
    ``decision_function`` is the winner's own when it has one and no ensemble won, else the
    logits of ``predict_proba`` (so it always exists). ``predict_proba`` and
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
        candidate starts, and a running one whose next fold (for the first candidate: its
        next fold and its own refit) would end past the budget is abandoned. At least one
        candidate is always cross-validated successfully (if none fits the budget, or every
        one tried failed or was abandoned, the rest are tried over budget, cheapest first,
        until one works). Skipped candidates are listed in ``skipped_`` and in a
        ``UserWarning``. What the plan leaves of the budget goes to tuning (``tune``).
        None means no limit: exactly the ``top_k`` best-ranked candidates are
        cross-validated (more only when they all fail).
    ensemble : bool, default=True
        Build a weighted ensemble of the cross-validated candidates (greedy ensemble
        selection with replacement over their out-of-fold probabilities, Caruana et al.
        2004, :mod:`skllmselect.ensemble`) and predict with it when it scores better on the
        folds than the winner alone. Costs the refits of its members, no cross-validation.
    tune : bool, default=True
        With ``time_budget``: spend what the plan leaves of it on a random search over the
        hyperparameters of the best candidates so far (:mod:`skllmselect.tuning`); each
        variant is one more candidate (named ``"<pipeline>#<i>"``, its parameters in
        ``cv_results_["params"]``). How many variants run depends on the clock. Without a
        budget nothing is tuned.
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
        "tune": ["boolean"],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
    }

    def __init__(self, model=loading.BUNDLED, revision=None, top_k=3, cv=5,
                 scoring="balanced_accuracy", time_budget=None, ensemble=True, tune=True,
                 n_jobs=None, random_state=None):
        self.model = model
        self.revision = revision
        self.top_k = top_k
        self.cv = cv
        self.scoring = scoring
        self.time_budget = time_budget
        self.ensemble = ensemble
        self.tune = tune
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
        table = self._rank(description.vector, description.X, description.y, self._seed())
        # The ranking's own notes (a pipeline that cannot fit these labels) are not warned:
        # the table already shows that pipeline last.
        table.attrs["notes"] = list(description.plan.notes) + table.attrs["notes"]
        warn_notes(description.plan.notes)
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
        network, tokenizer, residuals, forest = model_cache.load(str(self.model), self.revision)
        names = list(network.config.pipeline_names)
        unmet = unmet_requirements(self._training_labels(X, y, seed, cv))
        unmet.update((name, reason) for name, reason in unmet_by_parameters(
            names, self.scoring, seed, weighted).items() if name not in unmet)
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
        network, _, residuals, _ = model_cache.load(str(self.model), self.revision)
        if residuals is None:
            return None
        names = list(network.config.pipeline_names)
        return np.asarray(residuals)[:, [names.index(name) for name in table["pipeline"]]]

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

    # Over 80 lines for its numpydoc docstring (the parameters, the errors): the body is the
    # steps below, each a method of its own.
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
        check_fit_params(params)
        description = describe(X, y, estimator_name=type(self).__name__)
        X_fit, sample_weight = self._prepare(description, params.get("sample_weight"))
        X, y, plan = description.X, description.y, description.plan
        seed = self._seed()
        cv, notes = self._folds_and_notes(X_fit, y, groups, seed, plan)
        warn_notes(notes)  # here, for its stacklevel: the warning points at the caller of fit
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
        tried, skipped, abandoned = self._search(table, costs, X_fit, y, cv, sample_weight,
                                                 search_start, n_splits)
        if self.tune and self.time_budget is not None:  # the budget's rest: skllmselect.tuning
            tuning.tune(tried, X.shape[0], partial(
                self._cross_validate_pipeline, X=X_fit, y=y, cv=cv, sample_weight=sample_weight,
                reserve_refit=True), end=search_start + self.time_budget, n_splits=n_splits,
                seed=seed, clock=_clock)
        best, best_estimator, refit_time = self._refit(table, tried, skipped, abandoned, costs,
                                                       X_fit, y, cv, sample_weight)

        self.recommendations_ = table
        self.notes_ = notes
        self._table_plan = plan
        self.meta_features_ = pd.Series(vector, index=list(METAFEATURE_NAMES),
                                        name="metafeatures")
        self.skipped_ = skipped
        self.cv_results_ = candidates.cv_results(tried, n_splits)
        self.n_splits_ = n_splits
        self._warn(tried, skipped)

        if best_estimator is None:
            errors = "; ".join(f"{r['pipeline']}: {r['error']}" for r in tried)
            raise ValueError(
                f"None of the {len(tried)} pipeline(s) tried could be cross-validated and "
                f"fitted on this data ({errors}). Check the data, or raise top_k to try more "
                "pipelines."
            )
        self._keep_winner(tried, best, best_estimator, refit_time)
        self.ensemble_, self.ensemble_score_ = None, self.best_score_
        weights = np.zeros(len(tried))
        # The ensemble's refits were planned with the candidates (each one's predicted cost
        # includes its refit); the safety stop rules out refits the clock says won't fit.
        if self.ensemble:
            _log.info("choosing an ensemble of the %d candidates", len(tried))
            deadline = None if self.time_budget is None else search_start + self.time_budget
            weights = self._fit_ensemble(table, tried, best, X_fit, y, cv, sample_weight,
                                         deadline)
        self.cv_results_["ensemble_weight"] = weights
        self.search_time_ = _clock() - search_start
        return self

    def _prepare(self, description, sample_weight):
        """The table the pipelines get, and the checked ``sample_weight`` (or None).

        Columns converted (dates) or dropped (identifiers, all missing): the meta-features,
        the candidates and the winner all see the prepared table, and so does predict.
        """
        validate_data(self, description.X_checked, description.y, reset=True,
                      skip_check_array=True)
        X_checked = description.X_checked
        self._fit_columns = list(X_checked.columns) if isinstance(X_checked, pd.DataFrame) \
            else None
        X_fit = fill_missing_categories(description.X)  # see its docstring
        return X_fit, check_sample_weight(sample_weight, X_fit)

    def _folds_and_notes(self, X, y, groups, seed, plan):
        """The candidates' folds, checked, and the notes on the table and the folds.

        The folds are drawn once here for every candidate (the same folds for all, so their
        scores and out-of-fold decision values compare), with the groups for a group
        splitter. Our StratifiedKFold warns at each split when a class has a single row (the
        fold note says so already); silencing that per candidate would change the
        process-wide warnings filters while other threads run.
        """
        cv = check_cv(split_folds(self._make_cv(y, seed), X, y, groups))
        _, fold_note = stratified_folds(self.cv, y)
        check_training_folds(X, y, cv)
        return cv, list(plan.notes) + ([fold_note] if fold_note else [])

    def _search(self, table, costs, X, y, cv, sample_weight, search_start, n_splits):
        """Cross-validate the plan's candidates (``skllmselect.search``): ``(tried, skipped)``.

        ``tried``: the candidates' records, in the order they ran; ``skipped``: pipeline name
        -> why, for the ones ``time_budget`` left out; ``abandoned``: the positions of those
        stopped during their cross-validation.
        """
        budget = self.time_budget
        search = plan_search(table["predicted_score"].to_numpy(), costs,
                             table.attrs["n_eligible"], min(self.top_k, len(table)), budget,
                             residuals=self._residuals_in_order(table),
                             uncertainty=table["uncertainty"].to_numpy())
        skipped = {table["pipeline"].iat[p]: why for p, why in search.skipped.items()}
        tried, abandoned = [], set()
        for i, position in enumerate(search.positions):
            # The safety stop, for predicted costs that were too low. Once a candidate has
            # completed, what the best one's refit on all rows will take is kept back; before
            # that, a candidate must leave time for its own refit. No candidate starts, nor a
            # further fold of one, that the clock says would end past the budget (should
            # none complete, _refit falls back to the cheapest, over budget).
            deadline, first = None, not any(r["status"] == "ok" for r in tried)
            if budget is not None:
                deadline = search_start + budget - (
                    0.0 if first else candidates.refit_reserve(tried, n_splits))
                if _clock() >= deadline:
                    skipped.update((table["pipeline"].iat[p], f"time_budget={budget:g} s was "
                                    f"spent before it (predicted {costs[p]:.3g} s)")
                                   for p in search.positions[i:])
                    break
            record = self._cross_validate(table, position, X, y, cv, sample_weight, deadline,
                                          reserve_refit=first)
            if record is None:
                abandoned.add(position)
                skipped[table["pipeline"].iat[position]] = (
                    f"stopped: time_budget={budget:g} s ran out during its cross-validation "
                    f"(predicted {costs[position]:.3g} s)")
                continue
            tried.append(record)
        if budget is None:  # every candidate of the set failed: go on down the ranking
            position = len(search.positions)
            while not any(r["status"] == "ok" for r in tried) and position < len(table):
                tried.append(self._cross_validate(table, position, X, y, cv, sample_weight))
                position += 1
        return tried, skipped, abandoned

    def _refit(self, table, tried, skipped, abandoned, costs, X, y, cv, sample_weight):
        """Refit the best candidate on all rows: ``(record, estimator, seconds)``.

        Should none be left (nothing fitted the budget, every candidate tried failed, or the
        ones that cross-validated cannot be refit on all rows), go on with the rest, cheapest
        first and over budget, until one works: a fit that returns nothing is worse than one
        over its budget. ``(None, None, 0.0)`` when no pipeline works.
        """
        done = {r["pipeline"] for r in tried}
        # an abandoned candidate has shown it is slower than predicted: the last resort
        rest = sorted((p for p in np.argsort(costs, kind="stable").tolist()
                       if table["pipeline"].iat[p] not in done), key=lambda p: p in abandoned)
        while True:
            best, best_estimator, refit_time = candidates.refit_best(
                tried, X, y, sample_weight, clock=_clock)
            if best_estimator is not None or not rest:
                return best, best_estimator, refit_time
            position = rest.pop(0)
            skipped.pop(table["pipeline"].iat[position], None)
            tried.append(self._cross_validate(table, position, X, y, cv, sample_weight))
            tried[-1]["note"] = "cheapest; over budget"

    def _keep_winner(self, tried, best, best_estimator, refit_time) -> None:
        """The best_* attributes, and the winner's calibration when it has no probabilities."""
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

    def _fit_ensemble(self, table, tried, best, X, y, cv, sample_weight,
                      deadline=None) -> np.ndarray:
        """Set ``ensemble_`` and ``ensemble_score_`` (:func:`skllmselect.ensemble.form`).

        ``ensemble_`` stays None when the selection keeps the winner alone; the members'
        refits count in ``refit_time_``. Returns each tried candidate's weight, in ``tried``
        order.
        """
        ensemble, score, weights, refit_time = form(
            tried, best, (self.best_estimator_, self.calibration_), X, y, cv,
            sample_weight, self.scoring, self.classes_, deadline=deadline, clock=_clock)
        self.refit_time_ += refit_time
        if ensemble is not None:
            self.ensemble_, self.ensemble_score_ = ensemble, score
        return weights

    def _make_cv(self, y, seed):
        """The candidates' cross-validation (an int ``cv``: see ``validation.stratified_folds``)."""
        if not isinstance(self.cv, Integral):
            return check_cv(self.cv, y, classifier=True)
        n_splits, _ = stratified_folds(self.cv, y)
        return StratifiedKFold(n_splits=n_splits, shuffle=seed is not None, random_state=seed)

    def _cross_validate(self, table, position, X, y, cv, sample_weight=None,
                        deadline=None, reserve_refit=False) -> dict | None:
        """Cross-validate the candidate at ``position`` of the ranked ``table``."""
        return self._cross_validate_pipeline(
            candidates.candidate_record(table, position), table["estimator"].iat[position], X,
            y, cv, sample_weight, deadline=deadline, reserve_refit=reserve_refit)

    def _cross_validate_pipeline(self, record, pipeline, X, y, cv, sample_weight=None,
                                 deadline=None, reserve_refit=False) -> dict | None:
        """:func:`skllmselect.candidates.cross_validate_pipeline` with this selector's
        settings (a ranked candidate's or a tuned variant's); ``deadline`` is a reading of
        the selector's clock (``time_budget``)."""
        return candidates.cross_validate_pipeline(
            record, pipeline, X, y, cv, self.scoring, n_jobs=self.n_jobs,
            keep_proba=self.ensemble, sample_weight=sample_weight, deadline=deadline,
            reserve_refit=reserve_refit, clock=_clock)

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
        return check_X_predict(self, X, getattr(self, "_fit_columns", None),
                               getattr(self, "_table_plan", None))

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

    def decision_function(self, X):
        """Decision values, whichever pipeline won.

        ``best_estimator_``'s own when it has a decision function and no ensemble won
        (ridge, the SVMs, logistic regression, LDA, ...); otherwise (an ensemble, or a
        winner such as a random forest or an MLP) the logits of :meth:`predict_proba`: for
        two classes the log-odds of ``classes_[1]``, for more the centred log-probabilities.
        Either way they rank samples as ``predict_proba`` does, and the method exists on
        every selector, fitted or not, as ``predict_proba`` does.

        Parameters
        ----------
        X : array-like or pandas.DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        own = getattr(self, "best_estimator_", None)
        if getattr(self, "ensemble_", None) is None and hasattr(own, "decision_function"):
            return own.decision_function(self._check_X_predict(X))
        return _logits(self.predict_proba(X))  # raises NotFittedError before fit

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

