"""The shipped forest: node arrays that predict what scikit-learn's forest predicts."""

from __future__ import annotations

import numpy as np
import pytest

from pretrain.forest import train_forest
from skllmselect.forest import FOREST_NAME, read_forest, save_forest


def data(n=300, F=6, P=4, seed=0):
    rng = np.random.default_rng(seed)
    meta = rng.normal(size=(n, F))
    meta[rng.random((n, F)) < 0.1] = np.nan
    scores = 0.5 + 0.4 / (1 + np.exp(-np.nan_to_num(meta[:, :P]) @ rng.normal(size=(P, P))))
    return meta, scores, rng.random(n) < 0.3


def test_arrays_predict_what_scikit_learn_predicts(tmp_path):
    from sklearn.ensemble import RandomForestRegressor

    meta, scores, real = data()
    forest = train_forest(meta, scores, real, weight=0.5, n_estimators=7, min_samples_leaf=3)
    median = forest.median
    reference = RandomForestRegressor(n_estimators=7, min_samples_leaf=3, max_features=0.5,
                                      random_state=0, n_jobs=1).fit(
        np.where(np.isfinite(meta), meta, median), scores,
        sample_weight=np.where(real, 5.0, 1.0))
    new, _, _ = data(seed=1)
    expected = reference.predict(np.where(np.isfinite(new), new, median))
    np.testing.assert_allclose(forest.predict(new), expected, rtol=0, atol=1e-12)
    save_forest(forest, tmp_path / FOREST_NAME, metadata={"note": "test"})
    again = read_forest(tmp_path, n_features=6, n_pipelines=4)
    np.testing.assert_allclose(again.predict(new), forest.predict(new), atol=1e-6)  # float32
    assert again.weight == 0.5
    blended = again.blend(np.zeros((len(new), 4)), new)
    np.testing.assert_allclose(blended, 0.5 * expected, atol=1e-6)


def test_a_folder_without_a_forest_has_none_and_a_bad_one_is_refused(tmp_path):
    assert read_forest(tmp_path, 6, 4) is None
    meta, scores, real = data()
    forest = train_forest(meta, scores, real, n_estimators=2)
    save_forest(forest, tmp_path / FOREST_NAME)
    with pytest.raises(ValueError, match="value has shape"):
        read_forest(tmp_path, n_features=6, n_pipelines=5)
    (tmp_path / FOREST_NAME).write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="could not be read"):
        read_forest(tmp_path, 6, 4)
