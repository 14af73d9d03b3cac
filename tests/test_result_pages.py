"""The pages that run and show a result (Model, Compare, Map, Segments, Export, review), called as functions."""

from __future__ import annotations

import contextvars
import io
import json
import os
import threading
import time

import joblib
import pandas as pd
import pytest
from dash import no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict

from callbacks.compare import show_comparison, use_model
from callbacks.export import create_review_link, download, show_export
from callbacks.map import compute_umap, show_map
from callbacks.model import poll_job, show_summary
from callbacks.segments import rename_segment, show_segments
from core.errors import SegmentationError
from dashboard import ids
from dashboard.jobs import CANCEL_FILE, JobCancelled, job_progress, job_status, request_cancel, running_jobs, start_job
from dashboard.review import review_view
from dashboard.session import COOKIE
from dashboard.store import project_store
from tests.helpers import LABELLED_OUTPUTS, run, set_context, text_of, triggered

pytestmark = pytest.mark.callback


def test_every_result_page_says_there_is_nothing_yet(session):
    assert "No segmentation yet" in text_of(show_summary(None))
    for shown in (show_comparison(None, None), show_segments(None), show_map(None, "pca", 3, None)):
        assert "No segmentation yet" in text_of(shown["empty"]) and shown["area"] == {"display": "none"}


def test_run_then_compare_map_and_segments(session):
    project_store().save_selection(session, ["income", "fashion_spend", "electronics_spend", "recency_days"])
    token, alert = run(session)
    assert token is not None and alert is None
    status = job_status(project_store(), session)
    assert status["state"] == "done" and status["progress"] == 100
    job = poll_job(1, "running")
    assert [job[k] for k in ("progress", "label", "run_disabled", "cancel_disabled", "seen")] == [
        100,
        "100%",
        False,
        True,
        "done",
    ]
    assert job["text"].startswith("Done:") and job["redraw"] is not no_update  # a job seen to end redraws the result
    assert "segments of 2,000 customers from 4 features" in text_of(show_summary(token))

    compare = show_comparison(token, None)
    result = project_store().result(session)
    names = [result.names[i] for i in sorted(result.names)]
    assert [r["row"] for r in compare["board_rows"]] == list(range(10))  # k = 2..6 for two algorithms
    assert {c["headerName"] for c in compare["board_columns"]} >= {"silhouette", "stability", "dbcv", "noise %"}
    assert [t.name for t in compare["elbow"].data if t.showlegend is not False] == ["KMeans", "Gaussian mixture"]
    assert [t.name for t in compare["silhouette"].data] == names
    assert list(compare["stability"].data[0].x) == names
    assert compare["agreement"].data[0].z.shape == (2, 2)
    assert compare["baseline_box"] == {"display": "none"}  # not an RFM table

    shown = show_map(token, "pca", 3, None)
    figure, note = shown["figure"], shown["note"]
    assert [t.name for t in figure.data] == names and sum(len(t.x) for t in figure.data) == 2000
    assert "Every customer is drawn" in note
    assert figure.data[0].customdata[0].startswith("customer_id: C1")  # hover: id, then key features
    flat = show_map(token, "pca", 2, None)["figure"]
    assert flat.data[0].type == "scattergl"

    segments = show_segments(token)
    assert [r["name"] for r in segments["names"]] == names and all(r["rule"] for r in segments["names"])
    assert repr(segments["cards"]).count("Rule: ") == len(names)
    assert list(segments["effects"].data[0].y) == names
    assert set(segments["importance"].data[0].y) == {"income", "fashion_spend", "electronics_spend", "recency_days"}
    assert segments["profile_rows"][0]["measure"] == "customers"


@pytest.mark.slow
def test_umap_is_computed_once_in_the_background_and_cached(session):
    token, _ = run(session, k=(3, 3), algorithms=("kmeans",))
    shown = show_map(token, "umap", 2, None)
    figure, note = shown["figure"], shown["note"]
    assert figure is no_update and "Computing the UMAP projection" in note
    map_token, _ = compute_umap("umap", 2, token)
    assert map_token is not no_update
    shown = show_map(token, "umap", 2, map_token)
    figure, note = shown["figure"], shown["note"]
    assert [t.name for t in figure.data] == [project_store().result(session).names[i] for i in range(3)]
    assert "UMAP of a stratified sample of 2,000 customers" in note
    assert compute_umap("umap", 2, token) == (no_update, no_update)  # cached: nothing to do


def test_renaming_a_segment_reaches_every_view_and_export(session):
    token, _ = run(session, k=(3, 3), algorithms=("kmeans",))
    token, status = rename_segment([{"value": "Big spenders", "data": {"cluster": 1}}])
    assert status is None
    segments = show_segments(token)
    assert segments["names"][1]["name"] == "Big spenders" and "Big spenders" in repr(segments["cards"])
    assert "Big spenders" in [c["headerName"] for c in segments["profile_columns"]]
    assert show_map(token, "pca", 3, None)["figure"].data[1].name == "Big spenders"
    assert show_comparison(token, None)["silhouette"].data[1].name == "Big spenders"
    triggered({"type": ids.EXPORT_BUTTON, "file": "labelled_customers.csv"})
    labelled = pd.read_csv(io.StringIO(download([1, None, None, None, None, None])["content"]))
    assert (labelled.loc[labelled["cluster"] == 1, "segment"] == "Big spenders").all()

    first = project_store().result(session).names[0]
    token, status = rename_segment([{"value": first, "data": {"cluster": 2}}])
    assert f"Segments 0 and 2 would both be called '{first}'" in text_of(status)
    assert project_store().result(session).names[2] != first


@pytest.mark.parametrize(
    "name", ["labelled_customers.csv", "segments.csv", "leaderboard.csv", "report.html", "model.joblib", "run.json"]
)
def test_every_export_downloads(session, demo, name):
    run(session, k=(3, 3), algorithms=("kmeans",))
    assert show_export(None)[1] == {"display": "block"}
    triggered({"type": ids.EXPORT_BUTTON, "file": name})
    sent = download([1])
    assert sent["filename"] == name
    if name == "labelled_customers.csv":
        assert list(pd.read_csv(io.StringIO(sent["content"])).columns) == [*demo[0].columns, *LABELLED_OUTPUTS]
    elif name == "segments.csv":
        assert len(pd.read_csv(io.StringIO(sent["content"]))) == 3
    elif name == "run.json":
        assert json.loads(sent["content"])["config"]["k_min"] == 3
    elif name == "model.joblib":
        import base64

        bundle = joblib.load(io.BytesIO(base64.b64decode(sent["content"])))
        assert bundle.format == "segmentation-studio/model" and len(bundle.names) == 3
    else:
        assert sent["content"]


def test_the_analyst_picks_another_leaderboard_row(session):
    run(session, k=(2, 5), algorithms=("kmeans",))
    assert project_store().result(session).segmenter.n_clusters_ == 4
    progress = []
    token, status = use_model(progress.append, 1, [{"row": 1}])
    assert status == "Now using leaderboard row 1."
    result = project_store().result(session)
    assert result.segmenter.n_clusters_ == 3 and result.leaderboard["selected"].tolist() == [False, True, False, False]
    assert progress and progress[-1][0] == 100
    token, status = use_model(progress.append, 1, None)
    assert "Select a row of the leaderboard first" in text_of(status)


def test_cancelling_a_use_selected_model_refit_from_the_model_page_ends_it_cleanly(session):
    """The analyst presses Cancel on the Model page while the chosen row is refitted: the job ends cancelled, the
    page says so, and the previous result is kept (the refit used to end in an uncaught exception)."""
    from callbacks.model import cancel_job

    run(session, k=(2, 5), algorithms=("kmeans",))
    before = project_store().result(session)
    seen = []

    def progress(update):  # the Compare page's progress bar; Cancel is pressed as the refit reports its first step
        seen.append(update)
        if len(seen) == 1:
            triggered(ids.CANCEL_BUTTON)
            assert cancel_job(1) == "Cancelling…"

    token, status = use_model(progress, 1, [{"row": 1}])
    assert token is no_update and status == "Cancelled."
    assert job_status(project_store(), session)["state"] == "cancelled"
    after = project_store().result(session)
    assert after.segmenter.n_clusters_ == before.segmenter.n_clusters_ == 4 and after.config.select is None


@pytest.mark.slow
def test_cancelling_a_umap_job_from_the_model_page_keeps_nothing_half_done(session):
    from callbacks.model import cancel_job

    token, _ = run(session, k=(3, 3), algorithms=("kmeans",))
    answer = []
    context = contextvars.copy_context()  # the thread calls the callback in this session, as Dash would
    worker = threading.Thread(target=lambda: answer.append(context.run(compute_umap, "umap", 2, token)))
    worker.start()
    deadline = time.monotonic() + 60
    while job_status(project_store(), session).get("kind") != "umap" and time.monotonic() < deadline:
        time.sleep(0.05)
    triggered(ids.CANCEL_BUTTON)
    cancel_job(1)
    worker.join(180)
    assert answer == [(no_update, "UMAP cancelled; PCA still works.")]
    assert job_status(project_store(), session)["state"] == "cancelled"
    assert not list(project_store().path(session, "").glob("umap*.npz"))


def test_a_second_job_on_the_same_project_is_refused_with_what_runs(session):
    run(session, k=(3, 3), algorithms=("kmeans",))
    from dashboard.jobs import start_job

    start_job(project_store(), session, "umap")  # this process plays the running UMAP job
    token, alert = run(session, k=(3, 3), algorithms=("kmeans",))
    assert token is no_update and "A UMAP map is already going (or waiting) for this project" in text_of(alert)
    token, status = use_model(lambda _: None, 1, [{"row": 0}])
    assert "A UMAP map is already going" in text_of(status)


def test_the_server_log_says_when_each_job_starts_ends_and_why_it_failed(session, caplog, monkeypatch):
    import callbacks.model

    caplog.set_level("INFO", logger="segstudio")
    run(session, k=(3, 3), algorithms=("kmeans",))
    project = project_store().current_project(session)
    lines = [r.getMessage() for r in caplog.records if r.name == "segstudio.jobs"]
    assert lines[0] == f"job started: run, project {project}" and lines[-1].startswith(
        f"job done: run, project {project}"
    )

    def broken(*_args, **_kwargs):
        raise RuntimeError("a defect")

    monkeypatch.setattr(callbacks.model, "run_segmentation", broken)
    caplog.clear()
    token, alert = run(session, k=(3, 3), algorithms=("kmeans",))
    assert token is no_update and "the error was logged for the operator" in text_of(alert)
    failure = [r for r in caplog.records if r.name == "segstudio.jobs" and r.levelname == "ERROR"]
    assert failure and failure[0].exc_info and "RuntimeError: a defect" in caplog.text
    assert project_store().result(session).segmenter.n_clusters_ == 3  # the previous result is kept


def test_run_errors_and_parameters(session):
    project_store().save_selection(session, [])
    token, alert = run(session, k=(2, 4))
    assert token is no_update and "No usable feature column" in text_of(alert)
    assert job_status(project_store(), session)["state"] == "failed"
    project_store().save_selection(session, ["income", "electronics_spend", "fashion_spend"])
    token, alert = run(
        session,
        k=(3, 4),
        algorithms=("gmm",),
        params={"gmm": {"covariance_type": "diag"}},
        outliers="exclude",
        transform="yeo-johnson",
        impute="knn",
        scale="robust",
    )
    assert alert is None
    result = project_store().result(session)
    assert result.config.params == {"gmm": {"covariance_type": "diag"}}
    assert (result.config.impute, result.config.scale, result.config.outliers["action"]) == ("knn", "robust", "exclude")
    assert "left out of fitting, then assigned" in text_of(show_summary(token))
    token, alert = run(session, algorithms=("kmeans",), params={"kmeans": {"n_init": 0}})
    assert "kmeans parameter 'n_init' must be between 1 and 50; got 0" in text_of(alert)


def test_a_cancelled_job_stops_at_its_next_step_and_reports_it(session):
    store = project_store()
    start_job(store, session, "run")
    report = job_progress(store, session)
    report(0.1, "Fitting KMeans")
    assert job_status(store, session)["message"] == "Fitting KMeans"
    request_cancel(store, session)
    assert store.path(session, CANCEL_FILE).exists()
    with pytest.raises(JobCancelled):
        report(0.2, "Fitting GMM")


def test_a_job_whose_process_died_is_not_waited_for(session):
    store = project_store()
    start_job(store, session, "run")
    status = json.loads(store.path(session, "job.json").read_text())
    store.path(session, "job.json").write_text(json.dumps({**status, "pid": 999_999_999}))
    assert job_status(store, session)["state"] == "failed"
    job = poll_job(1, "running")
    assert not job["run_disabled"] and "stopped unexpectedly" in job["text"]


def test_a_job_on_another_machine_counts_as_running_until_it_falls_silent(session):
    """A Celery worker elsewhere cannot be checked by process id: its status file's age tells instead."""
    store = project_store()
    start_job(store, session, "run")
    path = store.path(session, "job.json")
    path.write_text(json.dumps({**json.loads(path.read_text()), "host": "worker-7", "pid": 999_999_999}))
    assert job_status(store, session)["state"] == "running" and running_jobs(store) == 1
    an_hour_ago = time.time() - 3601
    os.utime(path, (an_hour_ago, an_hour_ago))
    assert job_status(store, session)["state"] == "failed" and running_jobs(store) == 0


def test_review_link_opens_a_read_only_view_of_the_project(session):
    run(session, k=(3, 3), algorithms=("kmeans",))
    rename_segment([{"value": "Loyal", "data": {"cluster": 0}}])
    link = create_review_link(1)
    url = link.children[1].href
    token = url.rsplit("/", 1)[1]
    assert len(token) == 22
    view = review_view(token)
    assert "Loyal" in text_of(view) and "Rule:" in text_of(view)
    assert "Download the full report" in text_of(view)
    assert "not valid" in text_of(review_view("x" * 22)) and "not valid" in text_of(review_view("../../etc"))
    assert create_review_link(1).children[1].href == url  # one link per project


def test_projects_are_separate_and_reopened(session, demo):
    store = project_store()
    first = store.current_project(session)
    run(session, k=(3, 3), algorithms=("kmeans",))
    second = store.new_project(session, "Spring campaign")
    assert len(first) == len(second) == 32 and first != second  # 128 random bits each
    assert store.result(session) is None and store.current_project(session) == second
    listed = store.projects(session)
    assert [p["name"] for p in listed] == ["Spring campaign", "Project 1"] and listed[1]["segmented"]
    store.open_project(session, first)
    assert store.result(session) is not None
    with pytest.raises(SegmentationError, match="does not exist"):
        store.open_project(session, "../../../etc")


def test_a_file_from_the_servers_data_folder_opens_without_upload(session, data_dir, demo, monkeypatch):
    from callbacks.data import open_server_file, show_projects

    folder = data_dir / "imports"
    folder.mkdir(parents=True)
    demo[0].head(300).to_csv(folder / "big customers.csv", index=False)
    (folder / "notes.md").write_text("not a table")
    *_, files = show_projects(None)
    assert [f["value"] for f in files] == ["big customers.csv"]
    version, alert = open_server_file(1, "big customers.csv")
    assert alert is None and len(project_store().table(session)) == 300
    assert project_store().meta(session)["name"] == "big customers.csv"
    outside = data_dir / "secret.csv"
    demo[0].head(5).to_csv(outside, index=False)
    (folder / "link.csv").symlink_to(outside)  # a link out of the folder is neither listed nor opened
    *_, files = show_projects(None)
    assert [f["value"] for f in files] == ["big customers.csv"]
    for bad in ("../../etc/passwd", "missing.csv", None, str(outside), "link.csv"):
        version, alert = open_server_file(1, bad)
        assert version is no_update and "Choose one of the files listed" in text_of(alert)


@pytest.mark.parametrize("forged", ["../../etc", "abc", None, "A" * 32, "a" * 32, "a" * 32 + "." + "0" * 64])
def test_a_cookie_the_server_did_not_sign_names_no_session(data_dir, forged):
    """A bare id (never issued, so it has no folder), a path or a wrong signature: the callback refuses to run."""
    context_value.set(AttributeDict(cookies={COOKIE: forged} if forged else {}, triggered_inputs=[]))
    with pytest.raises(SegmentationError, match="lost its session"):
        show_segments(None)


def test_a_segment_is_renamed_from_its_card(session):
    from callbacks.segments import rename_from_card

    run(session, k=(3, 3), algorithms=("kmeans",))
    names = project_store().result(session).names
    values = [names[0], "Weekend shoppers", names[2]]
    fields = [
        {"id": {"type": ids.CARD_NAME, "cluster": c}, "property": "value", "value": v} for c, v in enumerate(values)
    ]

    drawn = list(names[c] for c in range(3))
    shown = [
        {"id": {"type": ids.CARD_DRAWN, "cluster": c}, "property": "data", "value": d} for c, d in enumerate(drawn)
    ]

    def edit(cluster: int):
        prop = json.dumps({"cluster": cluster, "type": ids.CARD_NAME}, separators=(",", ":"))
        set_context(
            triggered_inputs=[{"prop_id": f"{prop}.value", "value": values[cluster]}],
            inputs_list=[fields],
            states_list=[shown],
        )
        return rename_from_card(values, drawn)

    token, status = edit(1)
    assert status is None and project_store().result(session).names[1] == "Weekend shoppers"
    values[1] = "Another tab's idea"  # this card was drawn before the rename above: refused and told
    fields[1]["value"] = values[1]
    token, status = edit(1)
    assert "another tab or window renamed it first (segment 1 is now 'Weekend shoppers')" in text_of(status)
    assert project_store().result(session).names[1] == "Weekend shoppers"
    drawn[1] = shown[1]["value"] = "Weekend shoppers"  # the redraw shows the current name
    values[1] = fields[1]["value"] = "Weekend shoppers"
    cards = show_segments(token)["cards"]
    assert "Weekend shoppers" in repr(cards)
    assert edit(0) == (no_update, no_update)  # drawing the cards (value unchanged) renames nothing
    values[2] = values[0]
    fields[2]["value"] = values[0]
    token, status = edit(2)
    assert "would both be called" in text_of(status)


def test_a_result_saved_by_an_older_version_asks_for_a_new_run(session):
    from dataclasses import replace

    from callbacks.predict import predict_one

    run(session, k=(3, 3), algorithms=("kmeans",))
    store = project_store()
    store.save_result(session, replace(store.result(session), explanation=None, pca=None))
    assert "run the segmentation again" in text_of(show_export(None)[0])
    assert "run the segmentation again" in text_of(show_segments(None)["empty"])
    triggered({"type": ids.EXPORT_BUTTON, "file": "report.html"})
    assert download([1]) is no_update
    from callbacks.predict import build_form
    from tests.helpers import form_values

    triggered(ids.PREDICT_BUTTON)
    message, figure = predict_one(1, *form_values(build_form(True)["form"]))
    assert "Segment:" in text_of(message) and figure is no_update  # no projection kept: no place on the map


@pytest.mark.slow
def test_fits_beyond_the_limit_wait_in_line_and_beyond_the_line_the_server_says_busy(session, monkeypatch):
    from dashboard.jobs import finish_job
    from dashboard.session import new_session_id

    monkeypatch.setenv("SEGSTUDIO_MAX_JOBS", "1")
    monkeypatch.setenv("SEGSTUDIO_MAX_QUEUED", "0")
    store = project_store()
    other = new_session_id()
    store.update_settings(other, columns=None)
    start_job(store, other, "run")  # another analyst's fit, running (in this live process)
    token, alert = run(session)
    assert token is no_update and "The server is busy: 1 segmentation(s) are running and 0 waiting" in text_of(alert)
    assert store.result(session) is None and job_status(store, session)["state"] == "idle"

    monkeypatch.setenv("SEGSTUDIO_MAX_QUEUED", "1")
    outcome = []

    def waiting_run() -> None:
        outcome.append(run(session))

    def wait_for(state: str) -> dict:
        for _ in range(100):
            status = job_status(store, session)
            if status["state"] == state:
                return status
            time.sleep(0.1)
        raise AssertionError(f"the job never became {state}: {job_status(store, session)}")

    waiting = threading.Thread(target=waiting_run)
    waiting.start()
    status = wait_for("queued")
    assert status["message"] == "Waiting for a free slot: 1 fit(s) running on this server; this run is next."
    job = poll_job(1, "idle")
    progress, text, run_disabled, cancel_disabled = (
        job[k] for k in ("progress", "text", "run_disabled", "cancel_disabled")
    )
    assert text == status["message"] and run_disabled and not cancel_disabled
    request_cancel(store, session)  # the analyst gives up waiting
    waiting.join(timeout=30)
    assert job_status(store, session)["state"] == "cancelled" and store.result(session) is None

    outcome.clear()
    waiting = threading.Thread(target=waiting_run)
    waiting.start()
    wait_for("queued")
    finish_job(store, other, "done", "Done")  # the slot frees: the waiting fit starts by itself
    waiting.join(timeout=120)
    assert outcome[0][1] is None and store.result(session) is not None
    assert job_status(store, session)["state"] == "done"


def test_a_rename_from_a_stale_tab_is_refused_and_the_tab_told(session):
    run(session)
    store = project_store()
    before = store.result(session).names[0]
    token, status = rename_segment([{"value": "From tab A", "oldValue": before, "data": {"cluster": 0}}])
    assert status is None and store.result(session).names[0] == "From tab A"
    # Tab B still shows the old name and renames the same segment: refused, told, redrawn with the current names.
    token, status = rename_segment([{"value": "From tab B", "oldValue": before, "data": {"cluster": 0}}])
    assert token is not no_update and "another tab or window renamed it first" in text_of(status)
    assert "segment 0 is now 'From tab A'" in text_of(status)
    assert store.result(session).names[0] == "From tab A"
    # Other segments renamed in tab B keep tab A's change.
    other = store.result(session).names[1]
    rename_segment([{"value": "From tab B", "oldValue": other, "data": {"cluster": 1}}])
    names = store.result(session).names
    assert names[0] == "From tab A" and names[1] == "From tab B"


@pytest.mark.slow
def test_agglomerative_runs_show_their_merge_tree_cut_at_the_chosen_k(session):
    token, _ = run(session, k=(3, 4), algorithms=("agglomerative",), criterion="silhouette")
    compare = show_comparison(token, None)
    assert compare["dendrogram_box"] == {"display": "block"}
    figure = compare["dendrogram"]
    chosen = project_store().result(session).segmenter.n_clusters_
    assert f"cut: {chosen} segments" in figure.layout.annotations[0].text
    assert "merge tree of all 2,000 customers" in figure.layout.title.text
    token, _ = run(session, k=(3, 3), algorithms=("kmeans",))
    assert show_comparison(token, None)["dendrogram_box"] == {"display": "none"}  # no agglomerative candidate


def test_hdbscan_min_cluster_size_and_dbscan_eps_can_be_fixed_instead_of_swept(session):
    run(
        session,
        algorithms=("hdbscan", "dbscan"),
        params={"hdbscan": {"fixed_min_cluster_size": 60}, "dbscan": {"fixed_eps": 1.5}},
    )
    board = project_store().result(session).leaderboard
    assert len(board) == 2  # one candidate each, not a sweep
    assert json.loads(board.loc[0, "params"])["min_cluster_size"] == 60
    assert json.loads(board.loc[1, "params"])["eps"] == 1.5
