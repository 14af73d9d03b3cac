"""Component ids shared by pages/ and callbacks/, so a typo is an import error rather than a silent no-op."""

SESSION = "session-id"

# Data page
UPLOAD = "data-upload"
DEMO_BUTTON = "data-demo"
DATA_STATUS = "data-status"
COLUMN_PICKER = "data-columns"
SELECTION_NOTE = "data-selection-note"
PREVIEW_GRID = "data-preview"

# Segments page
K_RANGE = "seg-k-range"
RUN_BUTTON = "seg-run"
CANCEL_BUTTON = "seg-cancel"
PROGRESS = "seg-progress"
RUN_STATUS = "seg-run-status"
RESULT_TOKEN = "seg-result-token"
RESULT_AREA = "seg-result"
SCATTER = "seg-scatter"
SEGMENT_GRID = "seg-table"
DOWNLOAD_BUTTON = "seg-download"
DOWNLOAD = "seg-download-file"
