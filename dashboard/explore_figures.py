"""Figures of the Explore page: distributions, missing values, correlations, scatter matrix."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from scipy.stats import gaussian_kde

from core.charts import base_layout, plot_text, plot_texts

_BLUE = "#3d7fd9"
KDE_POINTS = 5_000


def distribution_figure(values: pd.Series, role: str) -> go.Figure:
    """Histogram with a density curve and a box plot for numbers; a count plot for categories."""
    name = plot_text(values.name)
    if role in ("numeric", "date") and values.notna().any():
        data = pd.to_numeric(values, errors="coerce") if role == "numeric" else pd.to_datetime(values)
        frame = pd.DataFrame({name: data.dropna()})
        figure = px.histogram(frame, x=name, nbins=50, histnorm="probability density", marginal="box",
                              color_discrete_sequence=[_BLUE])
        numbers = frame[name].to_numpy(dtype=float) if role == "numeric" else None
        if numbers is not None and len(np.unique(numbers)) > 2:
            sample = numbers if len(numbers) <= KDE_POINTS else np.random.default_rng(0).choice(numbers, KDE_POINTS)
            grid = np.linspace(numbers.min(), numbers.max(), 200)
            figure.add_trace(go.Scatter(x=grid, y=gaussian_kde(sample)(grid), mode="lines", name="density",
                                        line={"color": "#c0392b", "width": 2}), row=1, col=1)
        figure.update_yaxes(title_text="density", row=1, col=1)
        return base_layout(figure, f"Distribution of {name}", height=420)
    counts = values.astype(str).where(values.notna(), "(missing)").value_counts().head(30)
    figure = go.Figure(go.Bar(x=plot_texts(counts.index), y=counts.to_numpy(), marker={"color": _BLUE},
                              hovertemplate="%{x}: %{y:,} customers<extra></extra>"))
    figure.update_yaxes(title_text="customers")
    title = f"Counts of {name}" + (" (30 most common)" if values.nunique() > 30 else "")
    return base_layout(figure, title, height=420)


def missing_figure(missing: pd.Series) -> go.Figure:
    """Share of missing values per column."""
    figure = go.Figure(go.Bar(x=plot_texts(missing.index), y=(missing * 100).round(2).to_numpy(),
                              marker={"color": ["#c0392b" if v > 0 else "#b8c2cc" for v in missing]},
                              hovertemplate="%{x}: %{y:.1f}% missing<extra></extra>"))
    figure.update_yaxes(title_text="% missing", rangemode="tozero")
    return base_layout(figure, "Missing values per column", height=380)


def correlation_figure(corr: pd.DataFrame) -> go.Figure:
    """Spearman correlation heatmap between numeric columns."""
    figure = go.Figure(go.Heatmap(z=corr.to_numpy(), x=plot_texts(corr.columns), y=plot_texts(corr.index),
                                  zmin=-1, zmax=1, colorscale="RdBu", reversescale=True,
                                  text=np.round(corr.to_numpy(), 2), texttemplate="%{text}",
                                  colorbar={"title": {"text": "ρ"}}))
    figure.update_yaxes(autorange="reversed")
    return base_layout(figure, "Correlations (Spearman) between numeric columns", height=380)


def scatter_matrix_figure(frame: pd.DataFrame) -> go.Figure:
    """Pairwise scatter plots of the chosen numeric columns."""
    frame = frame.set_axis(plot_texts(frame.columns), axis=1)
    figure = px.scatter_matrix(frame, dimensions=list(frame.columns), opacity=0.4,
                               color_discrete_sequence=[_BLUE])
    figure.update_traces(diagonal_visible=False, marker={"size": 3})
    return base_layout(figure, "Scatter matrix", height=560)
