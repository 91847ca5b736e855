"""Meta-feature values to token ids: per-feature quantile bins in per-feature token blocks.

Why quantile bins
-----------------
Each feature's interior bin edges are quantiles of its finite *training* values, so every bin
holds about the same share of training datasets and every token is seen about equally often
during pretraining (no token starved of gradient). Quantiles depend only on the order of the
values, so the binning is invariant to any monotone transform of a meta-feature (log, rank,
change of units). That matters here: meta-features are heavy-tailed and their units differ by
orders of magnitude (counts, log sizes, ratios, entropies), and no per-feature rescaling has to
be chosen by hand. Alternatives considered:

- uniform-width bins between the training min and max: a heavy tail puts almost every dataset
  in the first one or two bins and leaves the rest empty; robust to nothing but linear rescaling.
- k-means (or other clustering) per feature: data-adaptive too, but iterative, seeded, and not
  invariant to monotone transforms; clusters follow density peaks, not equal mass.
- a continuous embedding of the raw (scaled) value: needs the per-feature scaling this
  module avoids, and gives the masked objective nothing discrete to predict. What a bin
  token cannot say (where in its bin a value lies) :meth:`MetaFeatureTokenizer.encode_values`
  gives as a number in [0, 1] read from the same edges, for the network's optional value
  channel: scale-free too, and the token stays the discrete target.

Edges are placed halfway between two consecutive distinct training values, never on one, so a
value recomputed with a little floating-point noise (``3.0000000001`` classes) keeps its token.
Tied quantiles collapse: a discrete feature gets at most as many bins as it has distinct
values, and every remaining bin holds at least one training value.

Why per-feature token blocks
----------------------------
Feature ``j`` owns its own block of ``1 + n_bins`` ids (its missing token, then its bins), in
a layout fixed by the counts alone, whatever edges collapse. The token itself therefore carries
the feature's identity, so a model with relative positions (RoPE, ALiBi) or none at all still
knows which feature a token describes, and the masked-token objective at sequence position
``1 + j`` is a classification over feature ``j``'s block only (:meth:`feature_block`).

Id layout (``P`` pipelines, ``F`` features)::

    0..4                        [PAD] [MASK] [CLS] [BOS] [EOS]
    5 .. 5+P-1                  one token per pipeline, in ``pipeline_names`` order
    5+P + j*(1+n_bins)          feature j's missing token (NaN, +inf, -inf)
    5+P + j*(1+n_bins) + 1 + b  feature j, bin b, for b in 0..n_bins-1
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from numbers import Integral
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

# Ids 0..4, in this order; a contract with every trained model.
SPECIAL_TOKENS: tuple[str, ...] = ("[PAD]", "[MASK]", "[CLS]", "[BOS]", "[EOS]")

# Bump whenever the id layout, the token strings, the binning rule or the saved format
# changes: a model trained on one version's ids must not be fed another's.
TOKENIZER_VERSION = "1"

_FILENAME = "tokenizer.json"
_DICT_KEYS = (
    "version", "feature_names", "pipeline_names", "n_bins", "bin_edges",
    "train_missing_share", "train_min", "train_max", "train_largest_bin_share",
)


class MetaFeatureTokenizer(BaseEstimator):
    """Turn meta-feature vectors into token ids: ``[CLS]`` then one token per feature.

    Parameters
    ----------
    feature_names : sequence of str
        Names of the meta-features, in the column order of the values given to :meth:`fit`
        and :meth:`encode` (e.g. :data:`skllmselect.metafeatures.METAFEATURE_NAMES`).
    pipeline_names : sequence of str
        Names of the candidate pipelines, each given its own token
        (e.g. :data:`skllmselect.portfolio.PIPELINE_NAMES`).
    n_bins : int, default=32
        Most bins per feature. Fewer remain where quantile edges coincide (discrete
        features), but every feature keeps ``n_bins`` ids so the layout depends only on the
        counts.

    Attributes
    ----------
    bin_edges_ : list of ndarray of shape (n_edges_j,)
        Interior bin edges of each feature, strictly increasing, ``n_edges_j <= n_bins - 1``;
        empty for a feature without finite training values.
    train_missing_share_ : ndarray of shape (n_features,)
        Share of training datasets whose value is missing (NaN or +-inf).
    train_min_, train_max_ : ndarray of shape (n_features,)
        Smallest and largest finite training value; NaN where there is none.
    train_largest_bin_share_ : ndarray of shape (n_features,)
        Share of the finite training values that fall in the most used bin; NaN where there
        are none. Near ``1 / n_bins`` for a continuous feature, larger for a discrete one.

    Examples
    --------
    >>> import numpy as np
    >>> from skllmselect.tokenizer import MetaFeatureTokenizer
    >>> values = np.array([[1.0, 0.0], [2.0, 1.0], [3.0, np.nan], [4.0, 1.0]])
    >>> tok = MetaFeatureTokenizer(["size", "flag"], ["logreg", "knn"], n_bins=4).fit(values)
    >>> tok.vocab_size
    17
    >>> tok.encode(values[2])
    array([ 2, 10, 12])
    >>> tok.decode(tok.encode(values[2]))
    ['[CLS]', 'size:b02', 'flag:nan']
    """

    pad_id = SPECIAL_TOKENS.index("[PAD]")
    mask_id = SPECIAL_TOKENS.index("[MASK]")
    cls_id = SPECIAL_TOKENS.index("[CLS]")
    bos_id = SPECIAL_TOKENS.index("[BOS]")
    eos_id = SPECIAL_TOKENS.index("[EOS]")
    pipeline_token_offset = len(SPECIAL_TOKENS)

    def __init__(self, feature_names, pipeline_names, n_bins=32):
        self.feature_names = feature_names
        self.pipeline_names = pipeline_names
        self.n_bins = n_bins

    # ---------------------------------------------------------------- parameters and layout

    def _validate_params(self) -> tuple[tuple[str, ...], tuple[str, ...], int]:
        """Check the constructor arguments; return them as tuples and an int."""
        names = {}
        for param in ("feature_names", "pipeline_names"):
            value = getattr(self, param)
            if isinstance(value, str) or not isinstance(value, Sequence | np.ndarray | pd.Index):
                raise ValueError(
                    f"{param} must be a sequence of str (a list or tuple of names), "
                    f"got {type(value).__name__}: {value!r}."
                )
            value = tuple(value)
            bad = [v for v in value if not isinstance(v, str) or not v]
            if bad:
                raise ValueError(
                    f"{param} must hold non-empty str names only, got {bad[:5]!r}. "
                    f"Pass the names as strings."
                )
            duplicates = sorted({v for v in value if value.count(v) > 1})
            if duplicates:
                raise ValueError(
                    f"{param} must be unique (each name owns its own tokens), got duplicates "
                    f"{duplicates!r}. Remove or rename them."
                )
            names[param] = value
        if not names["feature_names"]:
            raise ValueError("feature_names is empty; pass at least one meta-feature name.")
        n_bins = self.n_bins
        if isinstance(n_bins, bool) or not isinstance(n_bins, Integral) or n_bins < 2:
            raise ValueError(
                f"n_bins must be an int >= 2 (with one bin every present value is the same "
                f"token), got {n_bins!r}."
            )
        return names["feature_names"], names["pipeline_names"], int(n_bins)

    @property
    def n_features(self) -> int:
        """Number of meta-features ``F``."""
        return len(self._validate_params()[0])

    @property
    def n_pipelines(self) -> int:
        """Number of pipeline tokens ``P``."""
        return len(self._validate_params()[1])

    @property
    def sequence_length(self) -> int:
        """Length of an encoded sequence: ``[CLS]`` plus one token per feature."""
        return 1 + self.n_features

    @property
    def vocab_size(self) -> int:
        """``5 + P + F * (1 + n_bins)``; known before :meth:`fit`."""
        features, pipelines, n_bins = self._validate_params()
        return len(SPECIAL_TOKENS) + len(pipelines) + len(features) * (1 + n_bins)

    @property
    def pipeline_token_ids(self) -> np.ndarray:
        """Ids of the pipeline tokens, in ``pipeline_names`` order, shape (P,)."""
        return self.pipeline_token_offset + np.arange(self.n_pipelines, dtype=np.int64)

    def pipeline_token_id(self, name: str) -> int:
        """Return the token id of the pipeline called ``name``.

        Raises
        ------
        ValueError
            If ``name`` is not one of ``pipeline_names``.
        """
        pipelines = self._validate_params()[1]
        if name not in pipelines:
            raise ValueError(
                f"Unknown pipeline {name!r}. Known pipelines: {', '.join(pipelines)}."
            )
        return self.pipeline_token_offset + pipelines.index(name)

    @property
    def block_starts(self) -> np.ndarray:
        """First id of each feature's block (its missing token), shape (F,)."""
        features, pipelines, n_bins = self._validate_params()
        first = self.pipeline_token_offset + len(pipelines)
        return first + (1 + n_bins) * np.arange(len(features), dtype=np.int64)

    @property
    def missing_token_ids(self) -> np.ndarray:
        """Id of each feature's missing token, shape (F,); the same as :attr:`block_starts`."""
        return self.block_starts

    def feature_block(self, j: int) -> tuple[int, int]:
        """Return ``(start, stop)``: the ids valid at sequence position ``1 + j``.

        ``start`` is feature ``j``'s missing token and ``start + 1 + b`` its bin ``b``;
        ``stop`` is exclusive, ``stop - start == 1 + n_bins``.
        """
        n_features, n_bins = self.n_features, self._validate_params()[2]
        if isinstance(j, bool) or not isinstance(j, Integral) or not 0 <= j < n_features:
            raise ValueError(
                f"Feature index must be an int in [0, {n_features - 1}] "
                f"(there are {n_features} features), got {j!r}."
            )
        start = int(self.block_starts[j])
        return start, start + 1 + n_bins

    def is_missing(self, ids) -> np.ndarray:
        """Return a bool array, shaped like ``ids``, true where an id is a missing token."""
        return np.isin(np.asarray(ids), self.missing_token_ids)

    @property
    def token_strings(self) -> list[str]:
        """The string of every id, ``vocab_size`` of them: ``"[PIPE:logreg]"``, ``"f:b07"``..."""
        features, pipelines, n_bins = self._validate_params()
        width = max(2, len(str(n_bins - 1)))  # "b07": sorts as text up to 100 bins
        strings = list(SPECIAL_TOKENS)
        strings += [f"[PIPE:{name}]" for name in pipelines]
        for name in features:
            strings.append(f"{name}:nan")
            strings += [f"{name}:b{b:0{width}d}" for b in range(n_bins)]
        return strings

    def decode(self, ids) -> list:
        """Return the token strings of ``ids``.

        Parameters
        ----------
        ids : int or array-like of int, 1-D or 2-D

        Returns
        -------
        list of str, or list of list of str for 2-D ``ids``.
        """
        ids = np.asarray(ids)
        if ids.size and not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"Token ids must be integers, got an array of dtype {ids.dtype}.")
        ids = ids.astype(np.int64)  # an empty list arrives as float64
        if ids.ndim > 2:
            raise ValueError(f"decode takes 1-D or 2-D ids, got shape {ids.shape}.")
        vocab_size = self.vocab_size
        bad = ids[(ids < 0) | (ids >= vocab_size)]
        if bad.size:
            raise ValueError(
                f"Token ids must lie in [0, {vocab_size - 1}] (vocab_size={vocab_size}), got "
                f"{np.unique(bad)[:10].tolist()}. Were they made by a tokenizer with other "
                f"feature names, pipelines or n_bins?"
            )
        strings = np.asarray(self.token_strings, dtype=object)
        if ids.ndim == 2:
            return [strings[row].tolist() for row in ids]
        return strings[np.atleast_1d(ids)].tolist()

    # ---------------------------------------------------------------------- fit and encode

    def _check_values(self, values, n_features: int, *, allow_1d: bool) -> np.ndarray:
        """Return ``values`` as a 2-D float array with ``n_features`` columns."""
        try:
            array = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"Meta-feature values must be numeric (float, NaN allowed); could not convert "
                f"them to float: {exc}"
            ) from None
        if array.ndim == 1 and allow_1d:
            array = array[None, :]
        if array.ndim != 2:
            shapes = "(n_datasets, n_features) or (n_features,)" if allow_1d else (
                "(n_datasets, n_features)")
            raise ValueError(f"Expected an array of shape {shapes}, got shape {array.shape}.")
        if array.shape[1] != n_features:
            raise ValueError(
                f"Expected {n_features} features (one per name in feature_names), received "
                f"{array.shape[1]}. Pass the columns in feature_names order."
            )
        return array

    def fit(self, values) -> MetaFeatureTokenizer:
        """Learn each feature's quantile bin edges from the finite values.

        Call it on the training split only: the edges and the training statistics must not
        see validation or test datasets.

        Parameters
        ----------
        values : array-like of shape (n_datasets, n_features)
            Meta-feature vectors, columns in ``feature_names`` order; NaN and +-inf allowed
            (they are missing values and do not shape the edges).

        Returns
        -------
        self : MetaFeatureTokenizer
        """
        features, _, n_bins = self._validate_params()
        values = self._check_values(values, len(features), allow_1d=False)
        if values.shape[0] == 0:
            raise ValueError("fit needs at least one dataset (row), got 0.")
        # Interior quantile levels: n_bins - 1 edges make at most n_bins bins.
        levels = np.arange(1, n_bins) / n_bins
        edges, missing, low, high, largest = [], [], [], [], []
        for column in values.T:
            finite = np.sort(column[np.isfinite(column)])
            missing.append(1.0 - finite.size / column.size)
            if finite.size == 0:
                edges.append(np.empty(0))
                low.append(math.nan)
                high.append(math.nan)
                largest.append(math.nan)
                continue
            # inverted_cdf returns observed values: the largest value of each equal-mass
            # bin. Ties (discrete features) collapse in np.unique; the maximum closes the
            # last bin and is no interior edge.
            top = np.unique(np.quantile(finite, levels, method="inverted_cdf"))
            top = top[top < finite[-1]]
            # Put each edge halfway to the next larger training value, so no training value
            # sits on an edge and a slightly noisy recomputation keeps its bin.
            above = finite[np.searchsorted(finite, top, side="right")]
            middle = top + (above - top) / 2
            edge = np.where(middle > top, middle, above)  # adjacent floats: no room between
            counts = np.bincount(np.searchsorted(edge, finite, side="right"))
            edges.append(edge)
            low.append(float(finite[0]))
            high.append(float(finite[-1]))
            largest.append(float(counts.max() / finite.size))
        self.bin_edges_ = edges
        self.train_missing_share_ = np.asarray(missing)
        self.train_min_ = np.asarray(low)
        self.train_max_ = np.asarray(high)
        self.train_largest_bin_share_ = np.asarray(largest)
        return self

    def encode(self, values) -> np.ndarray:
        """Return the token ids of meta-feature vectors.

        Parameters
        ----------
        values : array-like of shape (n_datasets, n_features) or (n_features,)
            Columns in ``feature_names`` order. NaN and +-inf become the feature's missing
            token; values outside the training range fall in the first or last bin.

        Returns
        -------
        ids : ndarray of int64, shape (n_datasets, 1 + n_features) or (1 + n_features,)
            ``[CLS]`` then one token per feature; a 1-D input gives a 1-D output.
        """
        single = np.ndim(values) == 1
        values = self._check_encode_values(values)
        ids = np.empty((values.shape[0], 1 + values.shape[1]), dtype=np.int64)
        ids[:, 0] = self.cls_id
        for j, (start, edges) in enumerate(zip(self.block_starts, self.bin_edges_, strict=True)):
            column = values[:, j]
            # searchsorted on the interior edges clips out-of-range values into the end bins.
            bins = np.searchsorted(edges, column, side="right")
            ids[:, 1 + j] = np.where(np.isfinite(column), start + 1 + bins, start)
        return ids[0] if single else ids

    def encode_values(self, values) -> np.ndarray:
        """Return where each value lies inside its bin, aligned with :meth:`encode`'s ids.

        A bin token cannot tell two values of the same bin apart; this continuous companion
        can (the network's optional value channel reads it). Each value is placed linearly
        between the edges of its bin: 0 at the lower edge, 1 at the upper one. The first
        bin starts at the smallest finite training value and the last ends at the largest
        (``train_min_``, ``train_max_``), and a value beyond them is clipped to 0 or 1, as
        :meth:`encode` clips it into the end bin. A bin of zero width (a feature with one
        distinct training value, or none) gives 0.5, its middle. Like the bins, the result
        reads only the edges, so it is free of each feature's scale and units.

        Parameters
        ----------
        values : array-like of shape (n_datasets, n_features) or (n_features,)
            Columns in ``feature_names`` order.

        Returns
        -------
        positions : ndarray of float64 in [0, 1], shaped like :meth:`encode`'s ids
            0 at ``[CLS]`` and at missing values (NaN, +-inf).
        """
        single = np.ndim(values) == 1
        values = self._check_encode_values(values)
        out = np.zeros((values.shape[0], 1 + values.shape[1]), dtype=np.float64)
        for j, edges in enumerate(self.bin_edges_):
            column = values[:, j]
            finite = np.isfinite(column)
            bins = np.searchsorted(edges, column, side="right")
            # Bin b spans bounds[b]..bounds[b + 1]: the training range closes the end bins.
            bounds = np.concatenate(([self.train_min_[j]], edges, [self.train_max_[j]]))
            last = len(bounds) - 2
            low, high = bounds[np.minimum(bins, last)], bounds[np.minimum(bins + 1, last + 1)]
            width = high - low
            usable = finite & np.isfinite(width) & (width > 0)
            with np.errstate(invalid="ignore", divide="ignore"):
                inside = np.clip((column - low) / np.where(usable, width, 1.0), 0.0, 1.0)
            out[:, 1 + j] = np.where(usable, inside, np.where(finite, 0.5, 0.0))
        return out[0] if single else out

    def _check_encode_values(self, values) -> np.ndarray:
        """:meth:`encode`'s checks: fitted, and values with one column per fitted feature."""
        check_is_fitted(self, "bin_edges_")
        values = self._check_values(values, len(self.bin_edges_), allow_1d=True)
        if len(self.bin_edges_) != self.n_features:
            raise ValueError(
                f"The fitted edges cover {len(self.bin_edges_)} features but feature_names "
                f"has {self.n_features}; refit after changing feature_names."
            )
        return values

    # ---------------------------------------------------------------------------- reporting

    def vocabulary_report(self) -> pd.DataFrame:
        """One row per feature: how much of its block the training data uses.

        Returns
        -------
        pandas.DataFrame
            Columns ``feature``, ``effective_bins`` (distinct bins after collapsing edges:
            ``len(bin_edges_[j]) + 1``), ``missing_share``, ``min``, ``max`` (finite training
            values) and ``largest_bin_share`` (share of the finite training values in the
            most used bin).
        """
        check_is_fitted(self, "bin_edges_")
        return pd.DataFrame({
            "feature": list(self._validate_params()[0]),
            "effective_bins": [len(edges) + 1 for edges in self.bin_edges_],
            "missing_share": self.train_missing_share_,
            "min": self.train_min_,
            "max": self.train_max_,
            "largest_bin_share": self.train_largest_bin_share_,
        })

    # ------------------------------------------------------------------------- persistence

    def to_dict(self) -> dict:
        """Return the fitted tokenizer as a JSON-able dict (NaN stored as ``None``).

        Floats keep full precision: :func:`json.dumps` writes ``repr(float)``, which reads
        back to the same float.
        """
        check_is_fitted(self, "bin_edges_")
        features, pipelines, n_bins = self._validate_params()

        def floats(array):
            return [None if math.isnan(x) else float(x) for x in array]

        return {
            "version": TOKENIZER_VERSION,
            "feature_names": list(features),
            "pipeline_names": list(pipelines),
            "n_bins": n_bins,
            "bin_edges": [[float(x) for x in edges] for edges in self.bin_edges_],
            "train_missing_share": floats(self.train_missing_share_),
            "train_min": floats(self.train_min_),
            "train_max": floats(self.train_max_),
            "train_largest_bin_share": floats(self.train_largest_bin_share_),
        }

    @classmethod
    def from_dict(cls, d: dict) -> MetaFeatureTokenizer:
        """Rebuild a fitted tokenizer from :meth:`to_dict`'s output.

        Raises
        ------
        ValueError
            If the version is not :data:`TOKENIZER_VERSION` or the structure is inconsistent.
        """
        if not isinstance(d, dict):
            raise ValueError(f"Expected a dict from to_dict(), got {type(d).__name__}.")
        version = d.get("version")
        if version != TOKENIZER_VERSION:
            raise ValueError(
                f"Tokenizer format version {version!r} is not supported; this skllmselect "
                f"reads version {TOKENIZER_VERSION!r}. Refit the tokenizer (and retrain the "
                f"model on its ids) with this version, or install the skllmselect that wrote it."
            )
        missing_keys = [key for key in _DICT_KEYS if key not in d]
        if missing_keys:
            raise ValueError(
                f"Tokenizer dict lacks keys {missing_keys}; expected {list(_DICT_KEYS)}."
            )
        tokenizer = cls(list(d["feature_names"]), list(d["pipeline_names"]), d["n_bins"])
        features, _, n_bins = tokenizer._validate_params()
        n_features = len(features)

        def floats(key):
            value = d[key]
            if not isinstance(value, list) or len(value) != n_features:
                raise ValueError(
                    f"Tokenizer dict entry {key!r} must be a list of {n_features} numbers "
                    f"(one per feature), got {value!r:.80}."
                )
            return np.array([math.nan if x is None else x for x in value], dtype=np.float64)

        edges = d["bin_edges"]
        if not isinstance(edges, list) or len(edges) != n_features:
            raise ValueError(
                f"Tokenizer dict entry 'bin_edges' must be a list of {n_features} lists "
                f"(one per feature), got {edges!r:.80}."
            )
        bin_edges = []
        for name, feature_edges in zip(features, edges, strict=True):
            array = np.asarray(feature_edges, dtype=np.float64).reshape(-1)
            if (array.size > n_bins - 1 or not np.isfinite(array).all()
                    or np.any(np.diff(array) <= 0)):
                raise ValueError(
                    f"Bin edges of feature {name!r} must be at most {n_bins - 1} finite, "
                    f"strictly increasing floats, got {feature_edges!r:.80}."
                )
            bin_edges.append(array)
        tokenizer.bin_edges_ = bin_edges
        tokenizer.train_missing_share_ = floats("train_missing_share")
        tokenizer.train_min_ = floats("train_min")
        tokenizer.train_max_ = floats("train_max")
        tokenizer.train_largest_bin_share_ = floats("train_largest_bin_share")
        return tokenizer

    def save(self, directory) -> Path:
        """Write :meth:`to_dict` to ``directory/tokenizer.json``; return that path."""
        path = Path(directory) / _FILENAME
        text = json.dumps(self.to_dict(), indent=1, allow_nan=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, directory) -> MetaFeatureTokenizer:
        """Read a tokenizer written by :meth:`save` from ``directory/tokenizer.json``."""
        path = Path(directory) / _FILENAME
        if not path.is_file():
            raise FileNotFoundError(
                f"No {_FILENAME} in {str(directory)!r}; pass the directory that "
                f"MetaFeatureTokenizer.save wrote to."
            )
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
