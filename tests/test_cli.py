"""The ``skllmselect`` command, run as users run it (a subprocess), with a tiny model folder."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skllmselect.cli import main
from skllmselect.metafeatures import METAFEATURE_NAMES, METAFEATURES_VERSION
from skllmselect.portfolio import PIPELINE_NAMES
from tests.helpers import save_tiny_model

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A tiny random model with the model card that ``pretrain export`` writes."""
    from pretrain.export import model_card

    folder = save_tiny_model(tmp_path_factory.mktemp("model") / "tiny")
    config = json.loads((folder / "config.json").read_text())
    summary = {"n_parameters": 16284, "n_parameters_non_embedding": 4000, "best_step": 40,
               "steps": 50, "tokens": 9000, "device": "cpu", "precision": "fp32",
               "elapsed_s": 12.0, "skips": 0, "rollbacks": 0,
               "n_datasets": {"train": 80, "val": 10, "test": 10},
               "best_eval": {"val_regret": 0.0123, "baseline_regret": 0.05}}
    (folder / "README.md").write_text(model_card(summary, config, "best_model", 0.06))
    return folder


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """A small mixed table (numeric, categorical, missing values) as CSV and parquet."""
    folder = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    n = 80
    frame = pd.DataFrame({
        "size": rng.normal(size=n),
        "weight": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
        "colour": rng.choice(["red", "green", "blue"], n),
    })
    frame["species"] = np.where(frame["size"] + 0.5 * rng.normal(size=n) > 0, "a", "b")
    frame.to_csv(folder / "data.csv", index=False)
    frame.to_parquet(folder / "data.parquet")
    frame.assign(species="a").to_csv(folder / "one_class.csv", index=False)
    # A third class of two rows: --cv 5 must be lowered to 2 folds. Semicolon-separated.
    rare = frame.copy()
    rare.loc[:1, "species"] = "c"
    rare.to_csv(folder / "rare.csv", index=False, sep=";")
    return folder


def run(*args, hf_home=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
           "HF_HUB_DISABLE_TELEMETRY": "1"}
    if hf_home is not None:
        env["HF_HOME"] = str(hf_home)
    return subprocess.run([sys.executable, "-m", "skllmselect.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


@pytest.mark.slow
def test_recommend_prints_a_ranked_table(model_dir, tables):
    result = run("recommend", tables / "data.csv", "--target", "species", "--model", model_dir)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{tables / 'data.csv'}: 80 rows, 3 features, 2 classes in 'species'"
    assert lines[1] == f"model: {model_dir}"
    header = next(i for i, line in enumerate(lines) if line.startswith("rank"))
    assert lines[header].split() == ["rank", "pipeline", "predicted", "score", "predicted",
                                     "fit", "time"]
    rows = [line.split() for line in lines[header + 1:header + 21]]
    assert [int(r[0]) for r in rows] == list(range(1, 21))
    assert sorted(r[1] for r in rows) == sorted(PIPELINE_NAMES)
    assert all(r[3] == "±" and r[-1] == "s" for r in rows)
    scores = [float(r[2]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    assert lines[-1].startswith("ranked in ") and "add --fit to cross-validate the top 3" \
        in lines[-1]


@pytest.mark.slow
def test_recommend_json_from_parquet_with_fit(model_dir, tables):
    result = run("recommend", tables / "data.parquet", "--target", "species", "--model",
                 model_dir, "--json", "--fit", "--top-k", "2", "--cv", "3")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    rows = report["recommendations"]
    assert len(rows) == len(PIPELINE_NAMES) == 20
    assert [r["rank"] for r in rows] == list(range(1, 21))
    assert set(rows[0]) == {"rank", "pipeline", "predicted_score", "uncertainty",
                            "predicted_fit_time"}
    assert all(r["uncertainty"] > 0 and r["predicted_fit_time"] > 0 for r in rows)
    assert report["data"] == {"path": str(tables / "data.parquet"), "target": "species",
                              "n_rows": 80, "n_features": 3, "n_classes": 2,
                              "dropped_rows_without_target": 0}
    assert report["model"]["source"] == "local" and report["model"]["commit"] is None
    fit = report["fit"]
    assert fit["best_pipeline"] in {rows[0]["pipeline"], rows[1]["pipeline"]}
    assert [c["pipeline"] for c in fit["candidates"]] == [rows[0]["pipeline"],
                                                          rows[1]["pipeline"]]
    assert 0 <= fit["best_score"] <= 1 and fit["cv_folds"] == 3
    assert fit["best_score"] == max(c["mean_test_score"] for c in fit["candidates"]
                                    if c["mean_test_score"] is not None)


@pytest.mark.slow
def test_fit_prints_the_chosen_pipeline_and_its_cv_score(model_dir, tables):
    result = run("recommend", tables / "data.csv", "--target", "species", "--model", model_dir,
                 "--fit", "--top-k", "2", "--cv", "3")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    chosen = [line for line in lines if line.endswith("<- chosen")]
    assert len(chosen) == 1
    name = chosen[0].split()[1]
    assert int(chosen[0].split()[0]) in (1, 2)
    summary = next(line for line in lines if line.startswith("chosen: "))
    assert summary.startswith(f"chosen: {name}, cross-validated balanced_accuracy 0.")
    assert "(3-fold, best of 2 tried)" in summary and "(ranking " in summary
    ensemble = [line for line in lines if line.startswith("predicts with an ensemble: ")]
    assert len(ensemble) <= 1 and all("--no-ensemble" in line for line in ensemble)
    cv_score = float(summary.split("balanced_accuracy ")[1].split()[0])
    assert 0 <= cv_score <= 1


def test_info_describes_the_model(model_dir):
    result = run("info", "--model", model_dir)
    assert result.returncode == 0, result.stderr
    lines = [line.split(None, 1) for line in result.stdout.splitlines()]
    fields = dict(lines)
    assert fields["model"] == str(model_dir) and fields["source"] == "local folder"
    assert fields["revision"] == "-"
    assert fields["network"].startswith("encoder, d_model 16, 1 layers, 2 heads")
    assert fields["parameters"].startswith("16,284 (")
    assert fields["inputs"].startswith(f"{len(METAFEATURE_NAMES)} meta-features, 8 bins")
    assert fields["pipelines"].startswith("20: logreg,")
    assert fields["versions"] == f"metafeatures {METAFEATURES_VERSION}, portfolio 1"
    assert fields["compatible"] == "yes"
    assert fields["top-k"] == "by predicted score (no residuals.safetensors)"
    assert fields["training"].startswith("50 steps, 9,000 tokens")  # from the model card
    assert ["validation", "top-1 regret (balanced accuracy): model 0.0123, single best "
            "pipeline on train 0.0500"] in lines

    as_json = json.loads(run("info", "--model", model_dir, "--json").stdout)
    assert as_json["n_parameters"] == 16284 and as_json["n_pipelines"] == 20
    assert as_json["residual_datasets"] is None
    bundled = json.loads(run("info", "--json").stdout)  # residuals of the corpus train split
    manifest = json.loads((ROOT / "pretrain/data/corpus/manifest.json").read_text())
    assert bundled["residual_datasets"] == manifest["by_split"]["train"]


@pytest.mark.parametrize("case, message", [
    ("missing_file", "no such file: '{tables}/nope.csv'"),
    ("missing_target", "no column 'label' in '{tables}/data.csv'; its 4 columns are: 'size', "
                       "'weight', 'colour', 'species'"),
    ("one_class", "the target column 'species' has only one class ('a') in its 80 labelled "
                  "rows: a classifier needs at least two classes"),
    ("no_such_model", "No model folder at '{tables}/no_model'"),
    ("not_a_model", "The folder '{tables}' has no config.json: not a skllmselect model"),
    ("unknown_hub_model", "The Hub repo 'someone/unknown' at revision 'main' is not "
                          "(completely) in the Hugging Face cache"),
    ("damaged_model", "The weights file {damaged}/model.safetensors is damaged"),
    ("bad_suffix", "cannot read 'data.xlsx': expected a .csv, .tsv or .parquet file"),
    ("bad_scoring", "unknown --scoring 'balanced_acuracy': did you mean balanced_accuracy"),
    ("not_saved", "cannot load '{tables}/data.csv': not a file written by 'skllmselect "
                  "recommend --save'"),
    ("sep_on_parquet", "--sep is for CSV files; 'data.parquet' is parquet: drop --sep"),
])
def test_errors_are_one_line_with_exit_code_2(case, message, model_dir, tables, tmp_path):
    damaged = tmp_path / "damaged"
    data = tables / "data.csv"
    args = {
        "missing_file": ("recommend", tables / "nope.csv", "--target", "species"),
        "missing_target": ("recommend", data, "--target", "label"),
        "one_class": ("recommend", tables / "one_class.csv", "--target", "species"),
        "no_such_model": ("recommend", data, "--target", "species", "--model",
                          tables / "no_model"),
        "not_a_model": ("info", "--model", tables),
        "unknown_hub_model": ("info", "--model", "someone/unknown"),
        "damaged_model": ("recommend", data, "--target", "species", "--model", damaged),
        "bad_suffix": ("recommend", tmp_path / "data.xlsx", "--target", "species"),
        "bad_scoring": ("recommend", data, "--target", "species", "--fit", "--scoring",
                        "balanced_acuracy"),
        "not_saved": ("predict", data, data),
        "sep_on_parquet": ("recommend", tables / "data.parquet", "--target", "species",
                           "--sep", ";"),
    }[case]
    if case == "damaged_model":
        damaged.mkdir()
        for name in ("config.json", "model.safetensors"):
            (damaged / name).write_bytes((model_dir / name).read_bytes())
        weights = damaged / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:5000])
    if case == "bad_suffix":
        (tmp_path / "data.xlsx").write_bytes(b"PK")
    if args[0] == "recommend" and "--model" not in args:
        args += ("--model", model_dir)
    result = run(*args, hf_home=tmp_path / "hf")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("skllmselect: error: ")
    assert message.format(tables=tables, damaged=damaged) in lines[0]


def test_usage_errors_and_help_return_their_exit_codes(capsys):
    assert main(["recommend", "data.csv"]) == 2  # --target is required
    assert "--target" in capsys.readouterr().err
    assert main(["recommend", "x.csv", "--target", "y", "--top-k", "0"]) == 2
    assert "must be a positive integer" in capsys.readouterr().err
    assert main(["recommend", "x.csv", "--target", "y", "--time-budget", "0"]) == 2
    assert "must be a positive number of seconds" in capsys.readouterr().err
    assert main(["recommend", "x.csv", "--target", "y", "--n-jobs", "0"]) == 2
    assert "must be a nonzero integer" in capsys.readouterr().err
    assert main(["--help"]) == 0
    assert "recommend" in capsys.readouterr().out
    assert main(["predict", "--help"]) == 0
    assert "runs code from it" in capsys.readouterr().out  # the trust warning


def test_python_dash_m_and_version():
    import skllmselect

    result = subprocess.run([sys.executable, "-m", "skllmselect", "--version"],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"skllmselect {skllmselect.__version__}"


def test_fit_reports_the_folds_used_saves_and_predicts(model_dir, tables, tmp_path, capsys):
    """--cv 5 lowered to 2 by a class of two rows: both reports say 2; --save, then predict."""
    import joblib

    saved = tmp_path / "selector.joblib"
    common = ["recommend", str(tables / "rare.csv"), "--target", "species", "--sep", ";",
              "--model", str(model_dir), "--top-k", "1", "--cv", "5", "--scoring", "accuracy",
              "--time-budget", "600", "--n-jobs", "1", "--quiet"]
    assert main([*common, "--save", str(saved)]) == 0  # --save implies --fit
    text = capsys.readouterr()
    summary = next(line for line in text.out.splitlines() if line.startswith("chosen: "))
    assert ", cross-validated accuracy " in summary
    # --time-budget plans beyond --top-k 1 while the budget lasts.
    assert re.search(r"\(2-fold, lowered from --cv 5, best of \d+ tried\)", summary)
    assert any(line.startswith("note: cv=5 lowered to 2 folds") for line in
               text.out.splitlines())
    assert f"saved: {saved} (skllmselect predict {saved} DATA.csv)" in text.out

    assert main([*common, "--fit", "--json", "--no-ensemble"]) == 0
    fit = json.loads(capsys.readouterr().out)["fit"]
    assert fit["ensemble"] is None and {c["ensemble_weight"] for c in fit["candidates"]} == {0}
    assert fit["search_seconds"] > 0 and fit["ranking_seconds"] > 0
    assert fit["cv_folds"] == 2 and fit["cv_folds_requested"] == 5
    assert fit["scoring"] == "accuracy" and fit["time_budget"] == 600 and fit["saved"] is None

    selector = joblib.load(saved)
    assert selector.n_splits_ == 2 and selector.scoring == "accuracy"
    frame = pd.read_csv(tables / "rare.csv", sep=";")
    out = tmp_path / "predictions.csv"
    # The target column is in the file: predict ignores columns it was not fitted on.
    assert main(["predict", str(saved), str(tables / "rare.csv"), "--sep", ";", "--out",
                 str(out), "--proba"]) == 0
    predictions = pd.read_csv(out)
    features = frame.drop(columns="species")
    assert list(predictions.columns) == ["prediction", "proba_a", "proba_b", "proba_c"]
    assert predictions["prediction"].tolist() == selector.predict(features).tolist()
    np.testing.assert_allclose(predictions.iloc[:, 1:], selector.predict_proba(features))
    what = selector.best_pipeline_ if selector.ensemble_ is None else "an ensemble ("
    assert capsys.readouterr().err.startswith(f"80 predictions of {what}")

    assert main(["predict", str(saved), str(tables / "rare.csv"), "--sep", ";"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == predictions["prediction"].tolist()
    assert main(["predict", str(saved), str(tables / "data.parquet")]) == 0  # same columns
    features.drop(columns="colour").to_csv(tmp_path / "short.csv", index=False)
    assert main(["predict", str(saved), str(tmp_path / "short.csv")]) == 2
    assert "lacks column(s) the selector was fitted on: 'colour'" in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("quiet", [False, True])
def test_progress_of_the_long_steps_on_a_terminal(quiet, model_dir, tables, monkeypatch,
                                                  capsys):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    args = ["recommend", str(tables / "data.csv"), "--target", "species", "--model",
            str(model_dir), "--fit", "--top-k", "1", "--cv", "2"]
    assert main(args + (["--quiet"] if quiet else [])) == 0
    shown = terminal.getvalue()
    for step in ("reading data.csv", "computing the meta-features", "ranking the pipelines",
                 "cross-validating ", "(2 folds)", "refitting "):
        assert (step in shown) is not quiet, shown
    assert capsys.readouterr().out.splitlines()[-1].startswith("chosen: ")
