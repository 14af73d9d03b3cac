"""Callbacks, one module per page: thin translations of UI events into calls to core/."""

from callbacks import compare, data, explore, export, map, model, monitor, predict, segments, shell  # noqa: F401
