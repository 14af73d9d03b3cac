"""Callbacks, one module per page: thin translations of UI events into calls to core/."""
from callbacks import data, explore, predict, segments  # noqa: F401
