"""The load test's short variant: several analysts at once against gunicorn, every job done, nothing mixed up."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.slow  # a served app and worker processes


def test_six_analysts_at_once_all_get_their_own_segments():
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.load",
            "--analysts",
            "6",
            "--rows",
            "2000",
            "--workers",
            "3",
            "--threads",
            "2",
            "--max-jobs",
            "2",
            "--max-queued",
            "2",
            "--max-memory-gb",
            "4",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(run.stdout)  # the figures, shown by pytest -s or on failure
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "jobs: 6 asked, 6 done, 0 lost" in run.stdout and "analysts given other data: 0" in run.stdout
