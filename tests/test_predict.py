"""Assigning new customers: the classifier, its confidence, "No good fit", and `segment predict`."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from core.cli import main
from core.config import RunConfig
from core.pipeline import run_segmentation
from core.predictor import NO_GOOD_FIT

pytestmark = pytest.mark.unit


def test_predictor_reproduces_training_labels_and_flags_far_customers(demo):
    table = demo[0]
    result = run_segmentation(table, RunConfig(algorithms=["kmeans"], k_min=4, k_max=4, n_bootstrap=0))
    predictor = result.predictor
    Z = result.segmenter.transform_features(table)
    labels, confidence = predictor.predict(Z)
    fitted = labels != NO_GOOD_FIT
    assert (labels[fitted] == result.labels[fitted]).mean() > 0.98
    assert fitted.mean() > 0.97  # about 1% of each segment lies beyond its 99th percentile
    assert predictor.cv_accuracy_ > 0.95
    assert np.median(confidence[fitted]) > 0.9
    assert np.isnan(confidence[~fitted]).all()  # no number for customers who fit no segment
    far = pd.DataFrame([table.iloc[0]]).assign(income=5_000_000.0, fashion_spend=90_000.0)
    label, far_confidence = predictor.predict(result.segmenter.transform_features(far))
    assert label[0] == NO_GOOD_FIT and np.isnan(far_confidence[0])  # it once read 100%


@pytest.mark.slow
def test_segment_predict_writes_segments_and_explains_missing_columns(tmp_path, demo_csv, demo):
    model_dir = tmp_path / "model"
    assert (
        main(
            [
                "run",
                str(demo_csv),
                "--out",
                str(model_dir),
                "--algorithms",
                "kmeans",
                "--k",
                "4",
                "--feature",
                "total=sum(groceries_spend, fashion_spend)",
            ]
        )
        == 0
    )
    new = demo[0].head(50).drop(columns=["customer_id"])
    new_path = tmp_path / "new.csv"
    new.to_csv(new_path, index=False)
    out = tmp_path / "scored.csv"
    assert main(["predict", "--model", str(model_dir / "model.joblib"), str(new_path), "--out", str(out)]) == 0
    scored = pd.read_csv(out)
    assert list(scored.columns) == [*new.columns, "cluster", "segment", "confidence"]
    labelled = pd.read_csv(model_dir / "labelled_customers.csv").head(50)
    fitted = scored["cluster"] != NO_GOOD_FIT
    assert (scored.loc[fitted, "segment"] == labelled.loc[fitted, "segment"]).mean() > 0.95
    assert scored.loc[fitted, "confidence"].between(0, 1).all()
    assert scored.loc[~fitted, "confidence"].isna().all()  # "No good fit" has no number

    new.drop(columns=["income", "fashion_spend"]).to_csv(new_path, index=False)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "core.cli",
            "predict",
            "--model",
            str(model_dir / "model.joblib"),
            str(new_path),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "segment: error: The new file lacks column(s) the model needs: income, fashion_spend."
    )


def test_a_file_that_is_not_a_model_is_refused(tmp_path, demo_csv):
    fake = tmp_path / "model.joblib"
    fake.write_bytes(b"not a pickle")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "core.cli",
            "predict",
            "--model",
            str(fake),
            str(demo_csv),
            "--out",
            str(tmp_path / "o.csv"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "could not be loaded as a model" in done.stderr
