"""Figures drawn from a stored result: one colour per segment everywhere, sampled so the browser stays light."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from core.pipeline import SegmentationResult

# Colour-blind-safe qualitative palette; a segment keeps its colour (by number) on every chart.
PALETTE = qualitative.Safe
MAX_MAP_POINTS = 50_000


def segment_colour(cluster: int) -> str:
    return PALETTE[cluster % len(PALETTE)]


def map_sample(labels: np.ndarray, limit: int = MAX_MAP_POINTS, seed: int = 0) -> np.ndarray:
    """Row positions to draw: all of them, or a sample stratified by segment in which every segment appears."""
    if len(labels) <= limit:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    picks = []
    segments, counts = np.unique(labels, return_counts=True)
    for segment, count in zip(segments, counts):
        members = np.flatnonzero(labels == segment)
        take = max(1, int(round(limit * count / len(labels))))
        picks.append(rng.choice(members, min(take, count), replace=False))
    return np.sort(np.concatenate(picks))


def scatter_3d(result: SegmentationResult, table: pd.DataFrame) -> go.Figure:
    """The customers in 3D PCA space, one trace (and legend entry) per segment."""
    rows = map_sample(result.labels, seed=result.config.seed)
    coords = result.embedding[rows]
    labels = result.labels[rows]
    id_column = next((c for c, r in result.roles.items() if r == "id"), None)
    hover_ids = table[id_column].iloc[rows].astype(str).to_numpy() if id_column else (rows + 1).astype(str)
    figure = go.Figure()
    for cluster in range(len(result.names)):
        mask = labels == cluster
        figure.add_trace(
            go.Scatter3d(
                x=coords[mask, 0],
                y=coords[mask, 1],
                z=coords[mask, 2],
                mode="markers",
                name=result.names[cluster],
                marker={"size": 3, "color": segment_colour(cluster), "opacity": 0.8},
                customdata=hover_ids[mask],
                hovertemplate=f"{id_column or 'Row'}: %{{customdata}}<br>{result.names[cluster]}<extra></extra>",
            )
        )
    explained = result.explained_variance
    axis = lambda i: {"title": {"text": f"PC{i + 1} ({explained[i]:.0%})"}}  # noqa: E731
    shown = f"{len(rows):,} of {len(result.labels):,} customers" if len(rows) < len(result.labels) else (
        f"{len(rows):,} customers"
    )
    figure.update_layout(
        title={"text": f"Customers in PCA space ({shown})", "x": 0.02},
        scene={"xaxis": axis(0), "yaxis": axis(1), "zaxis": axis(2)},
        legend={"title": {"text": "Segment"}, "itemsizing": "constant"},
        margin={"l": 0, "r": 0, "t": 40, "b": 0},
        height=520,
        template="plotly_white",
    )
    return figure
