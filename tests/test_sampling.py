import numpy as np
import pytest

from skllmselect.sampling import stratified_subsample


def test_small_data_is_kept_whole():
    np.testing.assert_array_equal(stratified_subsample([0, 1, 0, 1], 10), np.arange(4))


def test_shares_are_kept_and_rare_classes_survive():
    y = np.array([0] * 900 + [1] * 97 + [2] * 3)
    rows = stratified_subsample(y, 100, min_per_class=5, random_state=1)
    counts = np.bincount(y[rows]).tolist()
    assert counts == [90, 10, 3]  # 90 and 9.7 -> 10 by share; class 2 keeps all it has
    assert np.all(np.diff(rows) > 0)


def test_draw_depends_only_on_labels_and_seed():
    y = np.repeat(["a", "b"], [500, 500])
    first = stratified_subsample(y, 100, random_state=3)
    np.testing.assert_array_equal(first, stratified_subsample(y.copy(), 100, random_state=3))
    assert not np.array_equal(first, stratified_subsample(y, 100, random_state=4))


def test_bad_size_is_an_error():
    with pytest.raises(ValueError, match="max_rows must be at least 1"):
        stratified_subsample([0, 1], 0)
