"""The files a run writes and their fixed columns: a contract other tools read (the README lists it). Defined once
here; core.exports and core.segmenter build the files from these names."""

from __future__ import annotations

LABELLED_FILE = "labelled_customers.csv"
SEGMENTS_FILE = "segments.csv"
LEADERBOARD_FILE = "leaderboard.csv"
MODEL_FILE = "model.joblib"
RUN_FILE = "run.json"
REPORT_FILE = "report.html"
PDF_FILE = "report.pdf"
# `segment monitor`: drift per feature, migration between segments, segment shares then and now, the verdict.
DRIFT_FILE = "drift.csv"
MIGRATION_FILE = "migration.csv"
SHARES_FILE = "shares.csv"
MONITOR_FILE = "monitor.json"
MONITOR_HTML = "monitor.html"
RUN_FILES = (LABELLED_FILE, SEGMENTS_FILE, LEADERBOARD_FILE, MODEL_FILE, RUN_FILE, REPORT_FILE)

# labelled_customers.csv: every input column, the engineered features, then these.
LABELLED_COLUMNS = ("cluster", "segment", "confidence", "meta_cluster", "assignment_stability", "outlier_excluded")
# segments.csv: these, then per feature mean_/median_/min_/max_/diff_/ratio_/effect_ or top_/top_share_/share_.
SEGMENT_COLUMNS = (
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
)
# leaderboard.csv: one row per candidate.
LEADERBOARD_COLUMNS = (
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
)
# The columns `segment predict` and the Predict page's file scoring add to the new customers.
SCORED_COLUMNS = ("cluster", "segment", "confidence")
