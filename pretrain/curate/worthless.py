"""The worthless-dataset filter: predicts, before the CV, that no pipeline will beat chance."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd

from pretrain.curate.columns import _is_text, _numeric_values
from pretrain.curate.fingerprints import ASSOC_BINS, _assoc_codes, _association_matrix
from pretrain.sources import Dataset

#: Cheap meta-features of the worthless filter, in order.
WORTHLESS_FEATURES = (
    "log_rows", "log_features", "n_classes", "categorical_share", "missing_share",
    "class_entropy", "majority_share", "max_target_assoc", "mean_target_assoc",
    "stump_lift", "nn1_lift", "naive_bayes_lift",
)
#: Rows of the stratified subsample the landmarks are computed on.
LANDMARK_ROWS = 300


def worthless_label(record: dict, *, chance_margin: float = 0.02,
                    trivial_score: float = 0.995) -> bool | None:
    """Whether a scored record (``runs.evaluate_dataset``) shows a dataset worthless.

    Worthless: no pipeline beats chance (``1 / n_classes`` balanced accuracy) by more than
    ``chance_margin`` (failed pipelines count at chance, as the protocol scores them), or
    every pipeline that ran scores at least ``trivial_score`` (nothing to choose between).
    None when the record has no usable score (a dataset-level error).
    """
    if record.get("error") or not record.get("pipelines"):
        return None
    pipelines = record["pipelines"].values()
    scores = [p["score"] for p in pipelines]
    ok = [p["score"] for p in pipelines if p.get("status") == "ok"]
    n_classes = record.get("n_classes") or 2
    if max(scores) <= 1.0 / n_classes + chance_margin:
        return True
    return bool(ok) and min(ok) >= trivial_score


def _encoded(X: pd.DataFrame) -> np.ndarray:
    """Numbers for landmarks: numeric as is (median-imputed), categories by frequency rank."""
    columns = []
    for position in range(X.shape[1]):
        series = X.iloc[:, position]
        values = _numeric_values(series)
        if values is None:
            codes, uniques = pd.factorize(series, use_na_sentinel=True)
            counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
            rank = np.empty(len(uniques) + 1)
            rank[np.argsort(-counts, kind="stable")] = np.arange(len(uniques))
            rank[-1] = -1.0  # missing (code -1)
            values = rank[codes]
        else:
            fill = np.nanmedian(values) if np.isfinite(values).any() else 0.0
            values = np.where(np.isnan(values), fill, values)
        columns.append(values)
    encoded = np.column_stack(columns).astype(float)
    scale = encoded.std(axis=0)
    return (encoded - encoded.mean(axis=0)) / np.where(scale > 0, scale, 1.0)


def meta_features(dataset: Dataset, random_state: int = 0) -> np.ndarray:
    """Cheap meta-features (:data:`WORTHLESS_FEATURES`) of a cleaned dataset (~0.1 s).

    Landmarks are 3-fold balanced accuracies of a decision stump, 1-nearest-neighbour and
    Gaussian naive Bayes on a stratified subsample of ``LANDMARK_ROWS`` rows, as lifts over
    chance: ``(score - 1/k) / (1 - 1/k)``.
    """
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.tree import DecisionTreeClassifier

    from skllmselect.sampling import stratified_subsample

    X = dataset.X
    y = pd.Series(np.asarray(dataset.y, dtype=object)).astype(str).to_numpy()
    n, p = X.shape
    labels, y_codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    k = len(labels)
    shares = counts / counts.sum()
    categorical = sum(_is_text(X.iloc[:, i]) for i in range(p))
    target_codes = np.minimum(y_codes, ASSOC_BINS - 1)
    assoc = []
    for i in range(p):
        series = X.iloc[:, i]
        codes = np.column_stack([_assoc_codes(series, _numeric_values(series)), target_codes])
        assoc.append(_association_matrix(codes, np.array([0, 1]))[0, 1])
    rows = stratified_subsample(y, LANDMARK_ROWS, min_per_class=3, random_state=random_state)
    Xs, ys = _encoded(X.iloc[rows]), y_codes[rows]
    lifts = []
    folds = min(3, int(np.bincount(ys).min()))
    models = (DecisionTreeClassifier(max_depth=1, random_state=random_state),
              KNeighborsClassifier(n_neighbors=1), GaussianNB())
    for model in models:
        if folds < 2 or k < 2:
            lifts.append(0.0)
            continue
        scores = []
        splitter = StratifiedKFold(folds, shuffle=True, random_state=random_state)
        for train, test in splitter.split(Xs, ys):
            predicted = model.fit(Xs[train], ys[train]).predict(Xs[test])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                scores.append(balanced_accuracy_score(ys[test], predicted))
        lifts.append((np.mean(scores) - 1 / k) / (1 - 1 / k))
    return np.array([
        math.log10(max(n, 1)), math.log10(max(p, 1)), k, categorical / max(p, 1),
        float(np.asarray(X.isna()).mean()) if p else 0.0,
        float(-(shares * np.log2(shares)).sum() / math.log2(k)) if k > 1 else 0.0,
        float(shares.max()), float(max(assoc, default=0.0)), float(np.mean(assoc) if assoc
                                                                    else 0.0),
        *lifts,
    ])


def _worthless_table(datasets: Iterable[Dataset], records: Iterable[dict], *,
                     chance_margin: float, trivial_score: float,
                     random_state: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    labels = {}
    for record in records:
        label = worthless_label(record, chance_margin=chance_margin,
                                trivial_score=trivial_score)
        if label is not None:
            labels[record["dataset"]] = label
    rows, y, ids = [], [], []
    for dataset in datasets:
        if dataset.id in labels:
            rows.append(meta_features(dataset, random_state))
            y.append(labels[dataset.id])
            ids.append(dataset.id)
    if not rows:
        raise ValueError("No dataset has a usable record: pass records whose 'dataset' field "
                         "equals the datasets' ids, from runs.evaluate_dataset.")
    return np.vstack(rows), np.array(y, dtype=bool), ids


class WorthlessFilter:
    """Predicts, before the expensive CV, that a dataset is worthless for learning.

    A random forest on :func:`meta_features`, trained on datasets already scored, with the
    labels of :func:`worthless_label` (everything at chance, or everything near perfect).

    Parameters
    ----------
    threshold : float, default=0.5
        :meth:`predict` says worthless when :meth:`predict_proba` is at least this.
    n_estimators : int, default=200
    chance_margin, trivial_score : float
        Label definition, see :func:`worthless_label`.
    random_state : int, default=0
    """

    def __init__(self, threshold: float = 0.5, n_estimators: int = 200, *,
                 chance_margin: float = 0.02, trivial_score: float = 0.995,
                 random_state: int = 0):
        self.threshold = threshold
        self.n_estimators = n_estimators
        self.chance_margin = chance_margin
        self.trivial_score = trivial_score
        self.random_state = random_state

    def _model(self):
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(
            n_estimators=self.n_estimators, min_samples_leaf=2, class_weight="balanced",
            random_state=self.random_state, n_jobs=1,
        )

    def fit(self, datasets: Iterable[Dataset], records: Iterable[dict]) -> WorthlessFilter:
        """Learn from cleaned datasets and their records (matched by dataset id)."""
        X, y, ids = _worthless_table(datasets, records, chance_margin=self.chance_margin,
                                     trivial_score=self.trivial_score,
                                     random_state=self.random_state)
        if len(np.unique(y)) < 2:
            raise ValueError(
                f"All {len(y)} labelled datasets are {'worthless' if y[0] else 'useful'}; "
                "the filter needs examples of both."
            )
        self.model_ = self._model().fit(X, y)
        self.n_train_ = len(y)
        return self

    def predict_proba(self, dataset: Dataset) -> float:
        """Probability that ``dataset`` is worthless."""
        if not hasattr(self, "model_"):
            raise RuntimeError("This WorthlessFilter is not fitted yet; call fit first.")
        proba = self.model_.predict_proba(meta_features(dataset, self.random_state)[None, :])
        return float(proba[0, list(self.model_.classes_).index(True)])

    def predict(self, dataset: Dataset) -> bool:
        """Whether ``dataset`` is predicted worthless (probability >= ``threshold``)."""
        return self.predict_proba(dataset) >= self.threshold


def worthless_filter_scores(datasets: Iterable[Dataset], records: Iterable[dict], *,
                            threshold: float = 0.5, cv: int = 5,
                            filter_: WorthlessFilter | None = None) -> dict:
    """Cross-validated precision and recall of the worthless filter on scored records.

    Each dataset is predicted by a filter trained without it (stratified ``cv`` folds), as
    it would be on new data. Returns precision, recall, counts of the confusion matrix, and
    the number of labelled datasets.
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    filter_ = filter_ or WorthlessFilter(threshold=threshold)
    X, y, _ = _worthless_table(datasets, records, chance_margin=filter_.chance_margin,
                               trivial_score=filter_.trivial_score,
                               random_state=filter_.random_state)
    folds = min(cv, int(min(y.sum(), (~y).sum())))
    if folds < 2:
        raise ValueError("Cross-validation needs at least 2 worthless and 2 useful datasets.")
    splitter = StratifiedKFold(folds, shuffle=True, random_state=filter_.random_state)
    proba = cross_val_predict(filter_._model(), X, y, cv=splitter, method="predict_proba")
    predicted = proba[:, 1] >= threshold
    tp, fp = int((predicted & y).sum()), int((predicted & ~y).sum())
    fn, tn = int((~predicted & y).sum()), int((~predicted & ~y).sum())
    return {"precision": tp / (tp + fp) if tp + fp else float("nan"),
            "recall": tp / (tp + fn) if tp + fn else float("nan"),
            "tp": tp, "fp": fp, "fn": fn, "tn": tn, "n": len(y), "n_worthless": int(y.sum()),
            "threshold": threshold, "folds": folds}
