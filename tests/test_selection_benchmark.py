"""benchmarks/selection.py on UCI: the model rows and the baselines' vectors are the estimator's."""

from __future__ import annotations

import importlib.util
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from pretrain.corpus import metafeature_record
from pretrain.runs import Protocol
from pretrain.sources.uci import iter_uci
from skllmselect import LLMAlgorithmSelector
from skllmselect.metafeatures import METAFEATURE_NAMES
from skllmselect.portfolio import PIPELINE_NAMES
from tests.uci_folder import UCI_PATH, needs_uci

ROOT = Path(__file__).resolve().parents[1]
TRUTH = ROOT / "benchmarks" / "results" / "uci_ground_truth"
#: Small tables; bridges has unlabelled rows and an identifier column the estimator drops.
NAMES = ["labor", "bridges.version1", "sponge"]
pytestmark = needs_uci


@pytest.fixture
def selection(monkeypatch):
    # The script sets this at import for its own process; keep it out of other tests.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    spec = importlib.util.spec_from_file_location("selection_benchmark",
                                                  ROOT / "benchmarks" / "selection.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def results(tmp_path):
    (tmp_path / "uci_ground_truth").mkdir()
    for name in NAMES:
        shutil.copy(TRUTH / f"uci__{name}.json", tmp_path / "uci_ground_truth")
    return tmp_path


def test_uci_rows_are_the_estimators(selection, results):
    frame, estimator = selection.uci_benchmark(results, UCI_PATH, "bundled")
    assert frame["dataset"].tolist() == sorted(f"uci/{n}" for n in NAMES)
    for i, dataset in enumerate(iter_uci(UCI_PATH, names=sorted(NAMES))):
        assert frame["dataset"].iat[i] == dataset.id
        keep = dataset.y.notna().to_numpy()
        X, y = dataset.X[keep], dataset.y[keep]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # preparation notes: not the point here
            tables = {k: LLMAlgorithmSelector(top_k=k, random_state=0).recommend(X, y)
                      for k in (1, 3)}
        # The model rows: the estimator's orders and predicted scores, by pipeline name.
        for row, k in ((selection.MODEL_BY_SCORE, 1), (selection.MODEL, 3)):
            assert [PIPELINE_NAMES[j] for j in estimator[row][i]] == \
                tables[k]["pipeline"].tolist()
        predicted = tables[3].set_index("pipeline").loc[list(PIPELINE_NAMES), "predicted_score"]
        np.testing.assert_array_equal(estimator["predicted"][i], predicted.to_numpy())
        # By score: descending predicted score, pipelines the labels rule out last.
        eligible = estimator["eligible"][i]
        expected = np.lexsort((np.arange(len(PIPELINE_NAMES)), -predicted.to_numpy(), ~eligible))
        np.testing.assert_array_equal(estimator[selection.MODEL_BY_SCORE][i], expected)
        # The baselines' vector: the corpus's path, the estimator's vector.
        vector = frame.loc[i, [f"mf.{n}" for n in METAFEATURE_NAMES]].to_numpy(np.float64)
        corpus = metafeature_record(dataset, Protocol())["metafeatures"]
        np.testing.assert_array_equal(vector, corpus)


def test_a_table_other_than_the_measured_one_is_refused(selection, results):
    record = results / "uci_ground_truth" / "uci__labor.json"
    record.write_text(record.read_text().replace('"fingerprint": "', '"fingerprint": "x'))
    with pytest.raises(SystemExit, match="not the table the ground truth measured"):
        selection.uci_benchmark(results, UCI_PATH, "bundled")
