"""The Spark engine on local[2]: one seeded run of known structure shared by the tests (Spark starts in seconds).

CI installs Java 17 and the spark extra; these tests need both.
"""

from __future__ import annotations

import builtins
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from core.bundle import ModelBundle
from core.cli import main
from core.config import RunConfig
from core.contracts import LABELLED_COLUMNS, LEADERBOARD_COLUMNS, SEGMENT_COLUMNS
from core.pipeline import run_segmentation

CENTRES = np.array([[0.0, 0.0, 0.0], [6.0, 0.0, 0.0], [0.0, 6.0, 0.0], [0.0, 0.0, 6.0]])
SIZES = (4_000, 3_000, 2_000, 1_000)  # unequal groups: the numbering by size is tested too
K = "2-5"
ALGORITHMS = "kmeans,bisecting_kmeans,gmm"


def customers(seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Four groups in recency, frequency and a skewed spend, a plan and a signup date that follow them; some missing
    values."""
    rng = np.random.default_rng(seed)
    truth = np.concatenate([np.full(n, g) for g, n in enumerate(SIZES)])
    rng.shuffle(truth)
    X = CENTRES[truth] + rng.normal(size=(len(truth), 3))
    plan = np.array(["basic", "gold", "silver", "basic"])[truth]
    days = 100 + 300 * (truth == 3) + rng.normal(0, 40, len(truth))  # the newest group signed up later
    table = pd.DataFrame(
        {
            "customer_id": np.arange(len(truth)) + seed * 1_000_000,
            "recency": X[:, 0],
            "frequency": X[:, 1],
            "spend": np.exp(X[:, 2] / 2) * 50,
            "plan": plan,
            "signup": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.round(days), unit="D"),
        }
    )
    table.loc[rng.choice(len(table), 200, replace=False), "recency"] = np.nan
    return table, truth


@pytest.fixture(scope="module")
def spark():
    from core.spark.source import spark_session

    session = spark_session("local[2]")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def spark_run(spark, tmp_path_factory):
    """A Spark run on a Parquet folder of two part files, written out: the table, its groups, the output folder
    and the run (whose Spark model scores held-out customers)."""
    from core.bundle import SourceRecord
    from core.spark.outputs import write_spark_outputs
    from core.spark.run import run_spark_segmentation

    folder = tmp_path_factory.mktemp("spark")
    table, truth = customers(0)
    data = folder / "customers"
    data.mkdir()
    half = len(table) // 2
    table.iloc[:half].to_parquet(data / "part-0.parquet", index=False)
    table.iloc[half:].to_parquet(data / "part-1.parquet", index=False)
    config = RunConfig(algorithms=ALGORITHMS.split(","), k_min=2, k_max=5)
    run = run_spark_segmentation(spark, spark.read.parquet(str(data)), config)
    out = folder / "out"
    write_spark_outputs(out, run, SourceRecord(file="customers", rows=run.rows))
    return table, truth, out, run


@pytest.mark.slow
@pytest.mark.spark
def test_spark_run_writes_the_local_contract(spark_run):
    table, truth, out, _ = spark_run
    labelled = pd.read_parquet(out / "labelled_customers.parquet")
    assert list(labelled.columns) == [*table.columns, *LABELLED_COLUMNS]
    # every input row labelled exactly once
    assert len(labelled) == len(table) and labelled["customer_id"].is_unique
    assert set(labelled["customer_id"]) == set(table["customer_id"])
    assert (labelled["cluster"] >= 0).all()
    segments = pd.read_csv(out / "segments.csv")
    assert list(segments.columns[: len(SEGMENT_COLUMNS)]) == list(SEGMENT_COLUMNS)
    assert segments["size"].sum() == len(table)
    assert list(segments["size"]) == sorted(segments["size"], reverse=True)  # numbered by size, over every row
    assert dict(zip(segments["cluster"], segments["size"])) == labelled["cluster"].value_counts().to_dict()
    board = pd.read_csv(out / "leaderboard.csv")
    assert list(board.columns) == list(LEADERBOARD_COLUMNS)
    assert set(board["algorithm"]) == {"kmeans", "bisecting_kmeans", "gmm"} and board["selected"].sum() == 1
    assert board["assignment"].str.startswith("Spark MLlib").all()
    record = json.loads((out / "run.json").read_text())
    assert record["engine"] == "spark"
    assert record["spark"]["master"] == "local[2]" and record["spark"]["version"].startswith("4.")
    assert record["spark"]["sampled"]["rows"] == len(table)
    assert record["spark"]["local_model_agreement"] == 1.0
    assert "Spark" in (out / "report.html").read_text()
    assert adjusted_rand_score(truth, labelled.set_index("customer_id").loc[table["customer_id"], "cluster"]) >= 0.95


@pytest.mark.slow
@pytest.mark.spark
def test_both_engines_choose_the_same_segments(spark_run):
    table, truth, out, _ = spark_run
    config = RunConfig(algorithms=ALGORITHMS.split(","), k_min=2, k_max=5)
    local = run_segmentation(table, config)
    spark_labels = pd.read_parquet(out / "labelled_customers.parquet").set_index("customer_id")["cluster"]
    spark_labels = spark_labels.loc[table["customer_id"]].to_numpy()
    assert local.segmenter.n_clusters_ == len(np.unique(spark_labels)) == 4
    assert adjusted_rand_score(local.labels, spark_labels) >= 0.95
    # profiles: Spark's aggregations over every row against pandas' over the same segments
    segments = pd.read_csv(out / "segments.csv").set_index("cluster")
    for cluster in segments.index:
        rows = table[spark_labels == cluster]
        for column in ("recency", "frequency", "spend"):
            expected = rows[column].mean()
            assert segments.loc[cluster, f"mean_{column}"] == pytest.approx(expected, rel=0.01, abs=0.01)
            assert segments.loc[cluster, f"median_{column}"] == pytest.approx(rows[column].median(), rel=0.01, abs=0.02)
            assert segments.loc[cluster, f"max_{column}"] == pytest.approx(
                rows[column].max(), abs=1e-4
            )  # segments.csv rounds to 4 places
        shares = rows["plan"].value_counts(normalize=True)
        for level, share in shares.items():
            assert segments.loc[cluster, f"share_plan={level}"] == pytest.approx(share, abs=0.001)


@pytest.mark.slow
@pytest.mark.spark
def test_the_exported_model_gives_sparks_segment_without_spark(spark, spark_run):
    """Held-out customers scored by Spark's pipeline and model, and by model.joblib's local form."""
    _, _, out, run = spark_run
    held_out, _ = customers(7)
    on_spark = run.label(spark.createDataFrame(held_out)).select("customer_id", "cluster").toPandas()
    on_spark = on_spark.set_index("customer_id").loc[held_out["customer_id"], "cluster"].to_numpy()
    bundle = ModelBundle.load(out / "model.joblib")
    assert (bundle.scorer.segmenter.predict(held_out) == on_spark).mean() == 1.0
    clusters, _, _ = bundle.scorer.assign(held_out)  # the classifier, with "no good fit" for far customers
    assert (clusters == on_spark).mean() >= 0.97


@pytest.mark.slow
@pytest.mark.spark
def test_rename_and_predict_work_on_a_spark_run_without_spark(spark_run, tmp_path, capsys):
    table, _, out, _ = spark_run
    new = tmp_path / "new.csv"
    customers(3)[0].iloc[:300].to_csv(new, index=False)
    assert main(["rename", str(out), "0=Loyal core"]) == 0
    labelled = pd.read_parquet(out / "labelled_customers.parquet")
    assert set(labelled.loc[labelled["cluster"] == 0, "segment"]) == {"Loyal core"}
    assert (labelled.loc[labelled["cluster"] != 0, "segment"] != "Loyal core").all()
    assert pd.read_csv(out / "segments.csv").set_index("cluster").loc[0, "segment"] == "Loyal core"
    assert main(["predict", "--model", str(out / "model.joblib"), str(new), "--out", str(tmp_path / "s.csv")]) == 0
    scored = pd.read_csv(tmp_path / "s.csv")
    assert len(scored) == 300 and "Loyal core" in set(scored["segment"])


@pytest.mark.slow
@pytest.mark.spark
def test_features_caps_and_scaling_on_spark_match_their_local_form(spark, tmp_path):
    """An engineered feature, outliers capped at IQR fences, robust scaling and mean imputation, written as CSV part
    files: the engineered values are the local engine's, and model.joblib (without Spark) gives every customer the
    segment Spark gave."""
    from core.features import FeatureSpec, add_features

    table, _ = customers(1)
    table = table.iloc[:3_000].copy()
    table["note"] = np.where(np.arange(len(table)) % 2 == 0, "=HYPERLINK(1)", "fine")
    data = tmp_path / "customers.csv"
    table.to_csv(data, index=False)
    out = tmp_path / "out"
    code = main(
        ["run", "--engine", "spark", "--master", "local[2]", str(data), "--out", str(out), "--k", "4-4"]
        + ["--algorithms", "kmeans", "--format", "csv", "--roles", _roles(tmp_path, {"note": "text"})]
        + ["--feature", "activity=sum(recency,frequency)", "--outliers", "iqr:cap", "--scale", "robust"]
        + ["--impute", "mean"]
    )
    assert code == 0
    parts = sorted((out / "labelled_customers.csv").glob("part-*.csv"))
    labelled = pd.concat([pd.read_csv(p) for p in parts]).set_index("customer_id").loc[table["customer_id"]]
    assert len(labelled) == len(table)
    assert set(labelled["note"]) == {"'=HYPERLINK(1)", "fine"}
    local = add_features(pd.read_csv(data), [FeatureSpec("activity", "sum", ["recency", "frequency"])])[0]
    np.testing.assert_allclose(labelled["activity"].to_numpy(), local["activity"].to_numpy(), rtol=1e-9)
    bundle = ModelBundle.load(out / "model.joblib")
    assert "activity" in bundle.scorer.features
    again = pd.read_csv(data)  # as a new user's file: the model rebuilds the feature and caps the outliers itself
    assert (
        bundle.scorer.segmenter.predict(add_features(again, bundle.scorer.engineered)[0]) == labelled["cluster"]
    ).all()
    record = json.loads((out / "run.json").read_text())
    assert record["outliers"]["action"] == "cap" and sum(record["outliers"]["rows_flagged_per_column"].values()) > 0


@pytest.mark.slow
@pytest.mark.spark
def test_excluded_outliers_are_labelled_and_marked(spark, tmp_path):
    table, _ = customers(2)
    table = table.iloc[:3_000].copy()
    table.loc[table.index[:12], "frequency"] = 500.0  # far outside every group
    data = tmp_path / "customers.parquet"
    table.to_parquet(data, index=False)
    out, lake = tmp_path / "out", tmp_path / "lake" / "segments"
    code = main(
        ["run", "--engine", "spark", "--master", "local[2]", str(data), "--out", str(out), "--k", "4-4"]
        + ["--algorithms", "kmeans", "--outliers", "zscore:exclude", "--transform", "none"]
        + ["--labelled-out", f"file://{lake}"]  # where a cluster's executors would write: a URI of their own
    )
    assert code == 0
    assert not (out / "labelled_customers.parquet").exists()
    labelled = pd.read_parquet(lake).set_index("customer_id").loc[table["customer_id"]]
    assert labelled["outlier_excluded"].iloc[:12].all() and (labelled["cluster"] >= 0).all()
    record = json.loads((out / "run.json").read_text())
    assert record["spark"]["sampled"]["excluded_rows"] >= 12
    assert record["spark"]["labelled_customers"] == f"file://{lake}"


def _roles(folder: Path, roles: dict[str, str]) -> str:
    path = folder / "roles.json"
    path.write_text(json.dumps(roles))
    return str(path)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--impute", "knn"], "--impute knn"),
        (["--algorithms", "hdbscan"], "algorithm(s) hdbscan"),
        (["--criterion", "stability"], "--criterion stability"),
        (["--db", "x"], "--db and --query"),
    ],
)
def test_options_spark_does_not_carry_out_are_refused(tmp_path, capsys, flags, message):
    code = main(["run", "--engine", "spark", str(tmp_path / "x.parquet"), "--out", str(tmp_path / "o"), *flags])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and message in err


def test_without_pyspark_the_message_says_how_to_install(tmp_path, capsys, monkeypatch):
    real = builtins.__import__

    def no_pyspark(name, *args, **kwargs):
        if name == "pyspark" or name.startswith("pyspark."):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyspark)
    code = main(["run", "--engine", "spark", str(tmp_path / "x.parquet"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "pip install -e '.[spark]'" in err and "openjdk-17-jre-headless" in err


def test_local_engine_refuses_spark_only_options(tmp_path, demo_csv, capsys):
    code = main(["run", str(demo_csv), "--out", str(tmp_path / "o"), "--master", "local[2]"])
    assert code == 2 and "--engine spark" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.spark
def test_a_spark_run_opens_in_the_app_and_is_renamed_scored_and_shared(spark_run, session, data_dir):
    """The run folder under the server's data folder: listed, opened as a project (the driver's sample, the
    segments over every customer), renamed, used to score new customers and shared, with no Spark in the app."""
    import shutil

    from callbacks.data import open_server_file, show_projects
    from callbacks.export import create_review_link
    from callbacks.predict import score_file
    from callbacks.segments import rename_segment, show_segments
    from dashboard.store import project_store
    from tests.helpers import text_of, upload_contents

    table, _, out, run = spark_run
    imports = data_dir / "imports"
    imports.mkdir(parents=True)
    shutil.copytree(out, imports / "lake run")
    *_, files = show_projects(None)
    assert "lake run" in [f["value"] for f in files]
    version, alert = open_server_file(1, "lake run")
    assert alert is None
    store = project_store()
    assert len(store.table(session)) == run.sampling["driver_rows"]
    assert "stays on the cluster" in store.meta(session)["source"]
    page = text_of(show_segments(None)["headline"])
    assert f"segments of {len(table):,} customers" in page and "the full table stays on the cluster" in page
    token, status = rename_segment([{"value": "Lake core", "data": {"cluster": 0}}])
    assert store.result(session).names[0] == "Lake core"
    new = customers(5)[0].iloc[:200]
    message, download, _ = score_file(upload_contents(new.to_csv(index=False).encode()), "new.csv")
    assert "Scored 200 customers" in text_of(message) and "Lake core" in download["content"]
    assert "/review/" in text_of(create_review_link(1))
