"""Component ids shared by pages/ and callbacks/, so a typo is an import error rather than a silent no-op."""

# Shell
APP_ALERT = "app-alert"  # what a failed callback says (dashboard.failures)
JOB_WATCH = "shell-job-watch"  # every page follows the project's job: a poll, what it saw, a banner
JOB_WATCH_STATE = "shell-job-state"
JOB_BANNER = "shell-job-banner"

# Data page
UPLOAD = "data-upload"
DEMO_BUTTON = "data-demo"
DATA_STATUS = "data-status"
COLUMN_GRID = "data-columns"
SELECTION_NOTE = "data-selection-note"
PREVIEW_GRID = "data-preview"
DATA_VERSION = "data-version"
DATA_ALERT = "data-alert"
RFM_SWITCH = "data-rfm-switch"
RFM_FORM = "data-rfm-form"
RFM_CUSTOMER = "data-rfm-customer"
RFM_DATE = "data-rfm-date"
RFM_AMOUNT = "data-rfm-amount"
RFM_QUANTITY = "data-rfm-quantity"
RFM_PRICE = "data-rfm-price"
RFM_INVOICE = "data-rfm-invoice"
RFM_AS_OF = "data-rfm-as-of"
RFM_BUILD = "data-rfm-build"
RFM_BACK = "data-rfm-back"
FEATURE_KIND = "data-feature-kind"
FEATURE_COLUMNS = "data-feature-columns"
FEATURE_NAME = "data-feature-name"
FEATURE_ADD = "data-feature-add"
FEATURE_LIST = "data-feature-list"
FEATURE_REMOVE = "data-feature-remove"

# Segments page
K_RANGE = "seg-k-range"
RUN_BUTTON = "seg-run"
CANCEL_BUTTON = "seg-cancel"
PROGRESS = "seg-progress"
PROGRESS_TEXT = "seg-progress-text"
RUN_ESTIMATE = "seg-run-estimate"
RUN_STATUS = "seg-run-status"
RESULT_TOKEN = "seg-result-token"
SEGMENT_GRID = "seg-table"
ALGORITHMS = "seg-algorithms"
CRITERION = "seg-criterion"
LEADERBOARD = "seg-leaderboard"
USE_ROW_BUTTON = "seg-use-row"
ELBOW = "seg-elbow"
METRICS = "seg-metrics"
AGREEMENT = "seg-agreement"
STABILITY = "seg-stability"
K_DISTANCE = "seg-k-distance"
K_DISTANCE_BOX = "seg-k-distance-box"
RESULT_HEADLINE = "seg-headline"
OUTLIER_METHOD = "seg-outlier-method"
OUTLIER_ACTION = "seg-outlier-action"
TRANSFORM = "seg-transform"
OUTLIER_NOTE = "seg-outlier-note"

# Explore page
EXPLORE_NOTE = "explore-note"
EXPLORE_STATS = "explore-stats"
EXPLORE_MISSING = "explore-missing"
EXPLORE_CORRELATION = "explore-correlation"
EXPLORE_COLUMN = "explore-column"
EXPLORE_DISTRIBUTION = "explore-distribution"
EXPLORE_MATRIX_COLUMNS = "explore-matrix-columns"
EXPLORE_MATRIX = "explore-matrix"
EXPLORE_INIT = "explore-init"
BASELINE = "seg-baseline"
BASELINE_BOX = "seg-baseline-box"
NAMES_GRID = "seg-names"
RENAME_STATUS = "seg-rename-status"
SEGMENT_CARDS = "seg-cards"
IMPORTANCE = "seg-importance"
SEGMENT_IMPORTANCE = "seg-segment-importance"

# Predict page
PREDICT_EMPTY = "predict-empty"
PREDICT_AREA = "predict-area"
PREDICT_FORM = "predict-form"
PREDICT_INPUT = "predict-input"  # pattern-matching type: {"type": PREDICT_INPUT, "feature": name}
PREDICT_BUTTON = "predict-run"
PREDICT_RESULT = "predict-result"
PREDICT_MAP = "predict-map"
PREDICT_INIT = "predict-init"
BATCH_UPLOAD = "predict-batch-upload"
BATCH_STATUS = "predict-batch-status"
BATCH_DOWNLOAD = "predict-batch-download"
PREDICT_DATE = "predict-date"  # pattern-matching type for date fields
CLASSIFIER = "seg-classifier"

# Model page (settings and run) and the job they start
JOB_POLL = "model-job-poll"
JOB_SEEN = "model-job-seen"
MODEL_SUMMARY = "model-summary"
IMPUTE = "model-impute"
SCALE = "model-scale"

# Compare page
COMPARE_EMPTY = "compare-empty"
COMPARE_AREA = "compare-area"
COMPARE_HEADLINE = "compare-headline"
USE_ROW_STATUS = "compare-use-status"
USE_ROW_PROGRESS = "compare-use-progress"
SILHOUETTE = "compare-silhouette"
DENDROGRAM = "compare-dendrogram"
DENDROGRAM_BOX = "compare-dendrogram-box"

# Map page
MAP_EMPTY = "map-empty"
MAP_AREA = "map-area"
MAP_PROJECTION = "map-projection"
MAP_DIMS = "map-dims"
MAP_GRAPH = "map-graph"
MAP_STATUS = "map-status"
MAP_TOKEN = "map-token"

# Segments page
SEG_EMPTY = "segments-empty"
SEG_AREA = "segments-area"
EFFECTS = "segments-effects"

# Export page
EXPORT_EMPTY = "export-empty"
EXPORT_AREA = "export-area"
EXPORT_BUTTON = "export-button"  # pattern-matching type: {"type": EXPORT_BUTTON, "file": name}
EXPORT_DOWNLOAD = "export-download"
REVIEW_BUTTON = "export-review"
REVIEW_LINK = "export-review-link"

# Data page: projects and server files
PROJECT_SELECT = "data-project"
PROJECT_NEW = "data-project-new"
PROJECT_NAME = "data-project-name"
PROJECT_STATUS = "data-project-status"
SERVER_FILE = "data-server-file"
SERVER_OPEN = "data-server-open"
# Page-local tokens: a callback whose input appears with a page but whose output lives in the shell fires on every
# visit, even with prevent_initial_call; the background jobs therefore signal their own page's store instead.
MODEL_TOKEN = "model-token"
COMPARE_TOKEN = "compare-token"
CARD_NAME = "segment-card-name"  # pattern-matching type: {"type": CARD_NAME, "cluster": n}
CARD_DRAWN = "segment-card-drawn"  # the name a card showed when drawn: {"type": CARD_DRAWN, "cluster": n}

# Data page: a database source
DB_CONNECTION = "data-db-connection"
DB_URL = "data-db-url"  # only where the operator allows typed URLs (single-analyst machines)
DB_TABLE = "data-db-table"
DB_TABLE_INFO = "data-db-table-info"
DB_QUERY = "data-db-query"
DB_PREVIEW = "data-db-preview"
DB_LOAD = "data-db-load"
DB_CANCEL = "data-db-cancel"
DB_PROGRESS = "data-db-progress"
DB_ALERT = "data-db-alert"
DB_PREVIEW_GRID = "data-db-preview-grid"

# Export page: write to a database
EXPORT_DB_CONNECTION = "export-db-connection"
EXPORT_DB_TABLE = "export-db-table"
EXPORT_DB_IF_EXISTS = "export-db-if-exists"
EXPORT_DB_WRITE = "export-db-write"
EXPORT_DB_STATUS = "export-db-status"

# Value and playbook (Segments page)
VALUE_COLUMN = "seg-value-column"
VALUE_FIGURE = "seg-value-figure"
VALUE_NOTE = "seg-value-note"

# Export page: the PDF
EXPORT_PDF = "export-pdf"
EXPORT_PDF_STATUS = "export-pdf-status"

# Monitor page
MONITOR_EMPTY = "monitor-empty"
MONITOR_AREA = "monitor-area"
MONITOR_UPLOAD = "monitor-upload"
MONITOR_SERVER_FILE = "monitor-server-file"
MONITOR_SERVER_OPEN = "monitor-server-open"
MONITOR_DB_CONNECTION = "monitor-db-connection"
MONITOR_DB_QUERY = "monitor-db-query"
MONITOR_DB_RUN = "monitor-db-run"
MONITOR_SOURCES = "monitor-sources"
MONITOR_RESULT = "monitor-result"
MONITOR_DOWNLOAD = "monitor-download"
MONITOR_FILE = "monitor-file"  # pattern-matching type: {"type": MONITOR_FILE, "file": name}
