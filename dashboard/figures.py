"""The app's figures of a stored result: the shared charts of core.charts, fed from a SegmentationResult."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core import charts
from core.pipeline import SegmentationResult


def scatter_3d(result: SegmentationResult, table: pd.DataFrame) -> go.Figure:
    """The customers in 3D PCA space (a stratified sample above 50k rows), one legend entry per segment."""
    rows = charts.map_sample(result.labels, seed=result.config.seed)
    column = result.id_column
    hover = table[column].iloc[rows].astype(str).to_numpy() if column else (rows + 1).astype(str)
    return charts.scatter_3d(result.embedding[rows], result.labels[rows], result.names, result.explained_variance,
                             hover, column or "Row", total=len(result.labels))


def stability_figure(result: SegmentationResult) -> go.Figure:
    stability = result.segmenter.stability_
    return charts.stability_figure(stability.per_segment if stability is not None else {}, result.names)


def with_new_customer(figure: go.Figure, position: np.ndarray, name: str) -> go.Figure:
    """The map with a new customer drawn as a large black diamond."""
    figure.add_trace(go.Scatter3d(
        x=[float(position[0])], y=[float(position[1])], z=[float(position[2])], mode="markers",
        name=f"New customer: {charts.plot_text(name)}", marker={"size": 9, "color": "#111", "symbol": "diamond"},
        hovertemplate="%{fullData.name}<extra></extra>",
    ))
    return figure
