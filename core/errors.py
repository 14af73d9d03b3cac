"""Errors the analyst can act on.

Anything raised as :class:`SegmentationError` carries a message written for the person who supplied the
input; the command line prints it on one line and exits 2, the app shows it in an alert.
"""

from __future__ import annotations


class SegmentationError(ValueError):
    """Bad input or an impossible request, with a message that says what to fix."""
