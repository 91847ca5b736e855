"""benchmarks/tuning_choice.py: its report on fabricated records (no fits)."""

from benchmarks.tuning_choice import fits, report


def _record(name, n_train, plan, tuned, winner):
    return {"dataset": name, "n_train": n_train, "n_classes": 2,
            "plan": {"status": "ok", "balanced_accuracy": plan, "wall_time": 3.0,
                     "n_candidates": 5, "best_pipeline": "lda"},
            "tuned": {"status": "ok", "balanced_accuracy": tuned, "wall_time": 29.0,
                      "n_candidates": 45, "best_pipeline": winner}}


def test_the_report_counts_wins_ties_losses_by_size_and_tuned_winners(tmp_path):
    records = [_record("a", 100, 0.70, 0.80, "svc_rbf#3"),    # win, small
               _record("b", 1000, 0.70, 0.702, "lda"),         # tie
               _record("c", 1000, 0.80, 0.70, "mlp#1")]        # loss
    text = report(records, 30.0, tmp_path / "t.md", "python -m benchmarks.tuning_choice")
    assert (tmp_path / "t.md").read_text() == text
    assert "W/T/L of tuning 1/1/1" in text
    assert "on the 1 tables under 300 training rows: +10.00 points" in text
    assert "on the 2 others: -4.90" in text
    assert "a tuned variant won (or led the ensemble's winner) on 2 tables" in text
    assert "variants per table: median 40" in text
    assert "max 0.97" in text  # 29 s of a 30 s budget


def test_the_two_fits_differ_only_in_tune():
    plan, tuned = fits(30.0).values()
    assert plan == {"time_budget": 30.0, "tune": False}
    assert tuned == {"time_budget": 30.0, "tune": True}


def test_the_report_adds_flaml_when_every_table_has_it(tmp_path):
    records = [_record("a", 100, 0.70, 0.80, "svc_rbf#3"), _record("b", 1000, 0.70, 0.70, "lda")]
    without = report(records, 30.0, tmp_path / "t.md", "cmd")
    assert "FLAML" not in without
    records[0]["flaml"] = {"status": "ok", "balanced_accuracy": 0.75, "wall_time": 30.1}
    assert "FLAML" not in report(records, 30.0, tmp_path / "t.md", "cmd")  # not on every table
    records[1]["flaml"] = {"status": "timeout", "balanced_accuracy": 0.5, "wall_time": 270.0}
    text = report(records, 30.0, tmp_path / "t.md", "cmd")
    assert "| FLAML time_budget=30" in text
    assert "tuned - FLAML at the same budget, mean over tables: +12.50 points" in text
    assert "W/T/L of the tuned fit 2/0/0" in text
    assert "FLAML failed or timed out on 1 tables" in text
