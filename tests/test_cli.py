import json
import subprocess
import sys
from pathlib import Path

import joblib
import pandas as pd
import pytest

from core.cli import main
from core.config import RunConfig
from core.readers import read_table
from tests.helpers import DATA_FILES, LABELLED_OUTPUTS, UNREADABLE_FILES

pytestmark = pytest.mark.unit

FILES = ["labelled_customers.csv", "segments.csv", "leaderboard.csv", "model.joblib", "run.json", "report.html"]
LEADERBOARD = [
    "algorithm",
    "params",
    "n_clusters",
    "noise_share",
    "smallest_share",
    "largest_share",
    "silhouette",
    "davies_bouldin",
    "calinski_harabasz",
    "dbcv",
    "stability",
    "inertia",
    "fit_seconds",
    "fit_rows",
    "assignment",
    "note",
    "selected",
]


def read_raw(path):
    """A CSV exactly as written, every cell as text, so the export can be compared with the input cell by cell."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def expected_summary_columns(run, labelled):
    roles, per_feature = run["roles"], []
    for c in run["features"]:
        if roles[c] == "categorical":
            levels = labelled[c].fillna("(missing)").astype(str).value_counts().index
            per_feature += [f"top_{c}", f"top_share_{c}", *(f"share_{c}={level}" for level in levels)]
        else:
            stats = ["mean", "median", "min", "max", "diff", *(["ratio"] if roles[c] == "numeric" else []), "effect"]
            per_feature += [f"{s}_{c}" for s in stats]
    return [
        "cluster",
        "segment",
        "size",
        "share",
        "stability",
        "customer_stability",
        "trusted",
        "confidence",
        "rule",
        "rule_coverage",
        "rule_precision",
        "key_features",
        "value_share",
        "value_per_customer",
        "action",
        "insight",
        *per_feature,
    ]


@pytest.mark.parametrize(
    "dataset", ["demo", *(pytest.param(name, marks=pytest.mark.slow) for name in ("mall", "wholesale", "cc_general"))]
)
def test_run_writes_the_six_files_with_exact_columns(tmp_path, demo_csv, dataset):
    data = demo_csv if dataset == "demo" else DATA_FILES[dataset]
    out = tmp_path / "out"
    assert main(["run", str(data), "--out", str(out), "--k", "2-6", "--algorithms", "kmeans,hdbscan"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)

    original = read_table(data)
    labelled = read_table(out / "labelled_customers.csv")
    assert list(labelled.columns) == [*original.columns, *LABELLED_OUTPUTS]
    pd.testing.assert_frame_equal(labelled[original.columns], original)  # every row and value, in input order
    clusters = labelled["cluster"].astype(int)
    named = clusters >= 0
    run = json.loads((out / "run.json").read_text())
    assert (labelled["segment"] == clusters.astype(str).map(run["segments"])).all()
    assert len(set(run["segments"].values())) == len(run["segments"])  # names are unique
    assert (labelled.loc[~named, "segment"] == "Unassigned").all()
    assert labelled["meta_cluster"].astype(int).min() == 0
    stability = labelled["assignment_stability"].astype(float)
    assert stability.dropna().between(0, 1).all()
    evaluated = stability.notna().sum()
    assert evaluated == len(labelled) if len(labelled) <= 5000 else 4000 <= evaluated <= 6000  # a stratified sample

    segments = pd.read_csv(out / "segments.csv")
    assert list(segments.columns) == expected_summary_columns(run, labelled)
    assert segments["size"].sum() == len(original)
    assert segments["share"].sum() == pytest.approx(1.0, abs=1e-3)
    assert sorted(segments["cluster"]) == sorted(clusters.unique())
    assert segments.loc[segments["cluster"] >= 0, "stability"].between(0, 1).all()

    board = pd.read_csv(out / "leaderboard.csv", keep_default_na=False, na_values=[""])
    assert list(board.columns) == LEADERBOARD
    assert board.loc[board["algorithm"] == "kmeans", "n_clusters"].tolist() == [2, 3, 4, 5, 6]
    assert (board["algorithm"] == "hdbscan").sum() >= 3
    assert board["selected"].sum() == 1
    assert board.loc[board["selected"], "n_clusters"].item() == clusters[named].nunique()

    assert run["input"]["rows"] == len(original)
    assert len(run["input"]["sha256"]) == 64
    assert run["config"]["k_min"] == 2 and run["config"]["k_max"] == 6
    assert {"pandas", "scikit-learn", "numpy", "python"} <= set(run["libraries"])
    bundle = joblib.load(out / "model.joblib")
    assert (bundle.scorer.segmenter.predict(original)[named] == clusters[named]).all()


@pytest.mark.slow
def test_ids_are_excluded_from_features_but_kept(tmp_path, demo_csv):
    out = tmp_path / "out"
    assert (
        main(["run", str(demo_csv), "--out", str(out), "--columns", "customer_id,income,fashion_spend", "--k", "2-5"])
        == 0
    )
    run = json.loads((out / "run.json").read_text())
    assert run["features"] == ["income", "fashion_spend"]
    assert "customer_id" in read_raw(out / "labelled_customers.csv").columns


@pytest.mark.slow
def test_config_round_trip_reproduces_labels(tmp_path, demo_csv):
    first, second = tmp_path / "first", tmp_path / "second"
    assert (
        main(
            [
                "run",
                str(demo_csv),
                "--out",
                str(first),
                "--columns",
                "income,electronics_spend,channel",
                "--k",
                "3-7",
                "--seed",
                "11",
            ]
        )
        == 0
    )
    assert main(["run", str(demo_csv), "--config", str(first / "run.json"), "--out", str(second)]) == 0
    a, b = (read_raw(d / "labelled_customers.csv") for d in (first, second))
    assert a["cluster"].tolist() == b["cluster"].tolist()
    assert (
        json.loads((second / "run.json").read_text())["config"]
        == json.loads((first / "run.json").read_text())["config"]
    )


@pytest.mark.slow
def test_roles_file_overrides_inferred_roles(tmp_path, demo_csv):
    roles = tmp_path / "roles.json"
    roles.write_text(json.dumps({"visits_per_month": "categorical"}))
    out = tmp_path / "out"
    assert main(["run", str(demo_csv), "--out", str(out), "--roles", str(roles), "--k", "2-4"]) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["roles"]["visits_per_month"] == "categorical"
    assert run["config"]["roles"] == {"visits_per_month": "categorical"}


def bad_inputs(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    ids_only = tmp_path / "ids.csv"
    ids_only.write_text("customer_id\n" + "\n".join(f"C{i}" for i in range(50)) + "\n")
    tiny = tmp_path / "tiny.csv"
    tiny.write_text("x,y\n1,2\n3,4\n5,1\n")
    return {
        "missing file": ([str(tmp_path / "absent.csv")], "absent.csv does not exist"),
        "empty file": ([str(empty)], "empty.csv is empty"),
        "no usable columns": ([str(ids_only)], "No usable feature column"),
        "fewer rows than clusters": ([str(tiny), "--k", "5-8"], "3 rows, fewer than the 5 segments"),
        "bad k": ([str(tiny), "--k", "ten"], "--k expects a range like 2-10"),
    }


@pytest.mark.slow  # a real process each; the same messages are checked in process elsewhere
@pytest.mark.parametrize(
    "case", ["missing file", "empty file", "no usable columns", "fewer rows than clusters", "bad k"]
)
def test_bad_input_exits_2_with_one_clear_line(tmp_path, case):
    args, message = bad_inputs(tmp_path)[case]
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", "run", *args, "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("segment: error:") and message in lines[0]
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_console_script_is_installed(tmp_path, demo_csv):
    segment = str(Path(sys.executable).parent / "segment")
    done = subprocess.run(
        [segment, "run", str(demo_csv), "--out", str(tmp_path / "o"), "--k", "4"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "into 4 segments" in done.stdout


@pytest.mark.slow
def test_algorithms_params_criterion_and_select_on_the_command_line(tmp_path, demo_csv):
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"gmm": {"covariance_type": "diag"}, "agglomerative": {"linkage": "average"}}))
    out = tmp_path / "out"
    assert (
        main(
            [
                "run",
                str(demo_csv),
                "--out",
                str(out),
                "--k",
                "3-5",
                "--algorithms",
                "gmm,agglomerative",
                "--params",
                str(params),
                "--criterion",
                "davies_bouldin",
                "--select",
                "4",
            ]
        )
        == 0
    )
    board = pd.read_csv(out / "leaderboard.csv")
    assert board["algorithm"].tolist() == ["gmm"] * 3 + ["agglomerative"] * 3
    assert json.loads(board.loc[0, "params"]) == {
        "covariance_type": "diag",
        "n_init": 1,
        "merge": "valleys",
        "n_clusters": 3,
    }
    assert json.loads(board.loc[3, "params"])["linkage"] == "average"
    assert board["selected"].tolist() == [False] * 4 + [True, False]
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["criterion"] == "davies_bouldin" and run["config"]["select"] == 4
    assert run["selected"]["algorithm"] == "agglomerative" and run["selected"]["n_clusters"] == 4


def test_bad_parameters_exit_2(tmp_path, demo_csv):
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"kmeans": {"n_init": -1}}))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "core.cli",
            "run",
            str(demo_csv),
            "--out",
            str(tmp_path / "o"),
            "--algorithms",
            "kmeans",
            "--params",
            str(params),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == ("segment: error: kmeans parameter 'n_init' must be between 1 and 50; got -1.")


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("n_bootstrap", "ten", "The setting n_bootstrap must be a whole number; got 'ten'."),
        ("max_components", 2.5, "The setting max_components must be a whole number; got 2.5."),
        ("max_components", 1, "max_components must be 0 (never reduce) or 2 to 2,000; got 1."),
        ("select", True, "The setting select must be a whole number; got True."),
    ],
)
def test_a_hand_edited_config_gets_one_line_and_exit_2(tmp_path, demo_csv, capsys, setting, value, message):
    config = tmp_path / "run.json"
    config.write_text(json.dumps({"config": {**RunConfig().to_dict(), setting: value}}))
    code = main(["run", str(demo_csv), "--out", str(tmp_path / "o"), "--config", str(config)])
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"segment: error: {message}"


def test_algorithms_are_listed_with_their_parameters(capsys):
    assert main(["algorithms"]) == 0
    listing = capsys.readouterr().out
    keys = ("kmeans", "bisecting_kmeans", "minibatch_kmeans", "hdbscan", "dbscan", "gmm", "agglomerative", "spectral")
    for key in (*keys, "birch"):
        assert f"\n{key}: " in "\n" + listing
    assert "covariance_type (one of auto, full, tied, diag, spherical; default auto)" in listing


def test_rfm_command_writes_one_row_per_customer(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text(
        "cust,invoice,day,qty,price\nA,1,2024-01-01,2,10\nA,C1,2024-01-05,-1,10\nB,2,2024-02-01,1,5\n"
        ",3,2024-02-02,1,1\n"
    )
    out = tmp_path / "rfm" / "rfm.csv"
    assert (
        main(
            [
                "rfm",
                str(log),
                "--customer",
                "cust",
                "--date",
                "day",
                "--quantity",
                "qty",
                "--price",
                "price",
                "--invoice",
                "invoice",
                "--as-of",
                "2024-03-01",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    table = pd.read_csv(out)
    assert list(table.columns) == [
        "cust",
        "recency_days",
        "frequency",
        "monetary",
        "tenure_days",
        "average_basket",
        "R",
        "F",
        "M",
        "RFM",
        "rfm_segment",
    ]
    assert table.set_index("cust").loc["A", ["recency_days", "frequency", "monetary"]].tolist() == [60, 1, 10.0]
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", "rfm", str(log), "--customer", "cust", "--date", "day", "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "Give either an amount column, or both a quantity and a unit price column" in done.stderr


def test_features_outliers_and_transform_on_the_command_line(tmp_path, demo_csv):
    out = tmp_path / "out"
    assert (
        main(
            [
                "run",
                str(demo_csv),
                "--out",
                str(out),
                "--columns",
                "income",
                "--algorithms",
                "kmeans",
                "--feature",
                "total=sum(groceries_spend, fashion_spend)",
                "--outliers",
                "iqr:exclude",
                "--transform",
                "yeo-johnson",
                "--k",
                "2-4",
            ]
        )
        == 0
    )
    labelled = pd.read_csv(out / "labelled_customers.csv")
    assert list(labelled.columns[-8:]) == ["customer_since", "total", *LABELLED_OUTPUTS]
    run = json.loads((out / "run.json").read_text())
    assert run["features"] == ["income", "total"]
    assert run["outliers"]["action"] == "exclude"
    assert run["outliers"]["rows_excluded"] == int(labelled["outlier_excluded"].sum()) > 0
    assert (labelled.loc[labelled["outlier_excluded"], "cluster"] >= 0).all()


@pytest.mark.slow  # a real process each; the same messages are checked in process elsewhere
@pytest.mark.parametrize(
    "name, data, message",
    [
        *UNREADABLE_FILES,
        (
            "allmissing.csv",
            b"id,x,y\n" + b"".join(b"%d,,%d\n" % (i, i) for i in range(30)),
            "Column(s) with no values at all: x",
        ),
    ],
)
def test_unreadable_files_exit_2_with_their_message(tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "core.cli",
            "run",
            str(path),
            "--out",
            str(tmp_path / "o"),
            "--columns",
            "x" if name == "allmissing.csv" else "a",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr


def test_demo_writes_the_apps_demo_customers(tmp_path, capsys, demo):
    out = tmp_path / "demo.csv"
    assert main(["demo", "--out", str(out)]) == 0
    assert "Wrote 2,000 demo customers x 12 columns" in capsys.readouterr().out
    written = read_table(out)
    assert list(written.columns) == list(demo[0].columns) and len(written) == 2000
    assert written["customer_id"].tolist() == demo[0]["customer_id"].astype(str).tolist()
    assert main(["demo", "--out", str(out), "--rows", "3"]) == 2


@pytest.mark.slow
def test_verbose_says_each_step_and_quiet_prints_nothing(tmp_path, demo_csv, capsys):
    args = ["run", str(demo_csv), "--k", "3", "--algorithms", "kmeans"]
    assert main(["-v", *args, "--out", str(tmp_path / "a")]) == 0
    said = capsys.readouterr()
    assert "segment: segmenting 2,000 rows x 12 columns" in said.err and "Fitting KMeans" in said.err
    assert "Segmented 2,000 customers" in said.out
    assert main(["-q", *args, "--out", str(tmp_path / "b")]) == 0
    said = capsys.readouterr()
    assert said.out == "" and said.err == ""


@pytest.mark.slow
def test_a_replayed_run_keeps_the_names_the_run_had(tmp_path, demo_csv):
    first = tmp_path / "first"
    assert main(["run", str(demo_csv), "--k", "3", "--algorithms", "kmeans", "--out", str(first)]) == 0
    assert main(["rename", str(first), "0=Big spenders", "2=Bargain hunters"]) == 0
    again = tmp_path / "again"
    assert main(["run", str(demo_csv), "--config", str(first / "run.json"), "--out", str(again)]) == 0
    names = json.loads((again / "run.json").read_text())["segments"]
    assert names["0"] == "Big spenders" and names["2"] == "Bargain hunters"
    (first / "model.joblib").unlink()  # without the model beside it: the names run.json records
    assert main(["run", str(demo_csv), "--config", str(first / "run.json"), "--out", str(tmp_path / "third")]) == 0
    assert json.loads((tmp_path / "third" / "run.json").read_text())["segments"]["2"] == "Bargain hunters"


def test_model_files_of_other_programs_and_versions_get_a_message(tmp_path, demo_csv, capsys):
    from core.bundle import ModelBundle

    out = tmp_path / "run"
    assert main(["run", str(demo_csv), "--k", "3", "--algorithms", "kmeans", "--out", str(out)]) == 0
    bundle = ModelBundle.load(out / "model.joblib")
    legacy = {
        "format": "segmentation-studio/model",
        "version": 2,
        "created": bundle.created,
        "segmenter": bundle.scorer.segmenter,
        "predictor": bundle.scorer.predictor,
        "names": bundle.names,
        "features": bundle.scorer.features,
        "engineered": [],
        "roles": bundle.scorer.roles,
        "config": bundle.config,
        "explanation": bundle.explanation,
        "sizes": bundle.sizes,
        "map": {
            "coords": bundle.map.coords,
            "labels": bundle.map.labels,
            "ids": bundle.map.ids,
            "id_label": bundle.map.id_label,
            "explained": bundle.map.explained,
            "total": bundle.map.total,
        },
        "source": {"file": "old.csv", "rows": 2000},
    }
    joblib.dump(legacy, tmp_path / "v2.joblib")
    assert (
        main(["predict", "--model", str(tmp_path / "v2.joblib"), str(demo_csv), "--out", str(tmp_path / "scored.csv")])
        == 0
    )  # version 2 files (dicts) are still read
    assert len(pd.read_csv(tmp_path / "scored.csv")) == 2000
    for name, content, message in [
        ("foreign.joblib", {"weights": [1, 2]}, "is not a model.joblib written by"),
        ("v1.joblib", {**legacy, "version": 1}, "has model format 1"),
        ("newer.joblib", None, "written by a newer Segmentation Studio"),
    ]:
        if content is None:
            bundle.version = 99
            content = bundle
        joblib.dump(content, tmp_path / name)
        code = main(["predict", "--model", str(tmp_path / name), str(demo_csv), "--out", str(tmp_path / "x.csv")])
        err = capsys.readouterr().err
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
