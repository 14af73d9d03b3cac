"""The segmentation on Apache Spark: MLlib fits and labels where the data lives, only small things come to the driver.

pyspark is an optional extra (``pip install -e '.[spark]'``, with Java 17); nothing here is imported by the local
engine, the app or the command line until ``--engine spark`` asks for it.
"""

from __future__ import annotations

from core.errors import SegmentationError

INSTALL_HINT = (
    "The Spark engine needs pyspark and Java 17: pip install -e '.[spark]' (and, on Debian or Ubuntu, "
    "apt install openjdk-17-jre-headless)."
)


def require_pyspark() -> None:
    """Raise a clear message when pyspark is not installed."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise SegmentationError(INSTALL_HINT) from None
