"""Every figure the app's pages draw, in one module: callbacks import their figures from here.

Figures of a stored result are the shared charts of core.charts (which the report draws too), fed from a
SegmentationResult; the Explore page's figures of the raw table are built here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from scipy.stats import gaussian_kde

from core import charts
from core.charts import (  # noqa: F401  (re-exported: the app's figures come from this module)
    agreement_figure,
    base_layout,
    baseline_figure,
    customer_map,
    dendrogram_figure,
    effects_figure,
    elbow_figure,
    id_hover,
    importance_figure,
    k_distance_figure,
    map_sample,
    metrics_figure,
    migration_figure,
    pca_axes,
    plot_text,
    plot_text_column,
    plot_texts,
    segment_importance_figure,
    shares_figure,
    silhouette_figure,
    stability_figure,
)
from core.explain import readable_number
from core.pipeline import SegmentationResult
from core.value import SegmentValue

HOVER_FEATURES = 3


def result_map(
    result: SegmentationResult, table: pd.DataFrame, dims: int = 3, umap: tuple[np.ndarray, np.ndarray] | None = None
) -> go.Figure:
    """The result's customers on the map: in PCA space (every customer, or a stratified sample above 50,000), or
    in a computed UMAP space given as (rows, coordinates); hover shows the id and the strongest features."""
    if umap is None:
        rows = map_sample(result.labels, seed=result.config.seed)
        coords, axes, space = result.embedding[rows], pca_axes(result.explained_variance), "PCA"
    else:
        rows, coords = umap
        axes, space = [f"UMAP {i + 1}" for i in range(3)], "UMAP"
    return customer_map(
        coords,
        result.labels[rows],
        result.names,
        axes,
        hover_text(result, table, rows),
        space,
        total=len(result.labels),
        dims=dims,
    )


def result_stability(result: SegmentationResult) -> go.Figure:
    stability = result.segmenter.stability_
    return stability_figure(stability.per_segment if stability is not None else {}, result.names)


def with_new_customer(figure: go.Figure, position: np.ndarray, name: str) -> go.Figure:
    """The map with a new customer drawn as a large black diamond."""
    figure.add_trace(
        go.Scatter3d(
            x=[float(position[0])],
            y=[float(position[1])],
            z=[float(position[2])],
            mode="markers",
            name=f"New customer: {plot_text(name)}",
            marker={"size": 9, "color": "#111", "symbol": "diamond"},
            hovertemplate="%{fullData.name}<extra></extra>",
        )
    )
    return figure


def hover_text(result: SegmentationResult, table: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """Per drawn customer: its id and the values of the features that separate the segments most."""
    prepared = result.prepared(table.iloc[rows])  # engineered features are row by row: prepare the drawn rows only
    id_column = result.id_column
    lines = [
        (f"{plot_text(id_column)}: " + plot_text_column(prepared[id_column]))
        if id_column
        else pd.Series([f"row {r + 1}" for r in rows], index=prepared.index)
    ]
    if result.explanation is not None:
        top = result.explanation.importance_.sort_values(["importance", "impurity"], ascending=False)["feature"]
        for feature in top.head(HOVER_FEATURES):
            values = prepared[feature]
            if result.roles.get(feature) == "numeric":
                shown = pd.to_numeric(values, errors="coerce").map(
                    lambda v: "" if pd.isna(v) else readable_number(float(v))
                )
            elif result.roles.get(feature) == "date":
                shown = pd.to_datetime(values, errors="coerce").dt.strftime("%Y-%m-%d").fillna("")
            else:
                shown = values.astype(str)
            lines.append(f"{plot_text(feature)}: " + plot_text_column(shown))
    text = lines[0].astype(str)
    for line in lines[1:]:  # column by column: a row-wise join of 50,000 rows takes a second
        text = text + "<br>" + line.astype(str)
    return text.to_numpy(dtype=object)


# ---------------------------------------------------------------- Explore: figures of the raw table
_BLUE = "#3d7fd9"
KDE_POINTS = 5_000


def distribution_figure(values: pd.Series, role: str) -> go.Figure:
    """Histogram with a density curve and a box plot for numbers; a count plot for categories."""
    name = plot_text(values.name)
    if role in ("numeric", "date") and values.notna().any():
        data = pd.to_numeric(values, errors="coerce") if role == "numeric" else pd.to_datetime(values)
        frame = pd.DataFrame({name: data.dropna()})
        figure = px.histogram(
            frame, x=name, nbins=50, histnorm="probability density", marginal="box", color_discrete_sequence=[_BLUE]
        )
        numbers = frame[name].to_numpy(dtype=float) if role == "numeric" else None
        if numbers is not None and len(np.unique(numbers)) > 2:
            sample = numbers if len(numbers) <= KDE_POINTS else np.random.default_rng(0).choice(numbers, KDE_POINTS)
            grid = np.linspace(numbers.min(), numbers.max(), 200)
            figure.add_trace(
                go.Scatter(
                    x=grid,
                    y=gaussian_kde(sample)(grid),
                    mode="lines",
                    name="density",
                    line={"color": "#c0392b", "width": 2},
                ),
                row=1,
                col=1,
            )
        figure.update_yaxes(title_text="density", row=1, col=1)
        return base_layout(figure, f"Distribution of {name}", height=420)
    counts = values.astype(str).where(values.notna(), "(missing)").value_counts().head(30)
    figure = go.Figure(
        go.Bar(
            x=plot_texts(counts.index),
            y=counts.to_numpy(),
            marker={"color": _BLUE},
            hovertemplate="%{x}: %{y:,} customers<extra></extra>",
        )
    )
    figure.update_yaxes(title_text="customers")
    title = f"Counts of {name}" + (" (30 most common)" if values.nunique() > 30 else "")
    return base_layout(figure, title, height=420)


def missing_figure(missing: pd.Series) -> go.Figure:
    """Share of missing values per column."""
    figure = go.Figure(
        go.Bar(
            x=plot_texts(missing.index),
            y=(missing * 100).round(2).to_numpy(),
            marker={"color": ["#c0392b" if v > 0 else "#b8c2cc" for v in missing]},
            hovertemplate="%{x}: %{y:.1f}% missing<extra></extra>",
        )
    )
    figure.update_yaxes(title_text="% missing", rangemode="tozero")
    return base_layout(figure, "Missing values per column", height=380)


def correlation_figure(corr: pd.DataFrame) -> go.Figure:
    """Spearman correlation heatmap between numeric columns."""
    figure = go.Figure(
        go.Heatmap(
            z=corr.to_numpy(),
            x=plot_texts(corr.columns),
            y=plot_texts(corr.index),
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            reversescale=True,
            text=np.round(corr.to_numpy(), 2),
            texttemplate="%{text}",
            colorbar={"title": {"text": "ρ"}},
        )
    )
    figure.update_yaxes(autorange="reversed")
    return base_layout(figure, "Correlations (Spearman) between numeric columns", height=380)


def scatter_matrix_figure(frame: pd.DataFrame) -> go.Figure:
    """Pairwise scatter plots of the chosen numeric columns."""
    frame = frame.set_axis(plot_texts(frame.columns), axis=1)
    figure = px.scatter_matrix(frame, dimensions=list(frame.columns), opacity=0.4, color_discrete_sequence=[_BLUE])
    figure.update_traces(diagonal_visible=False, marker={"size": 3})
    return base_layout(figure, "Scatter matrix", height=560)


def value_figure(value: SegmentValue | None, names: dict[int, str]) -> go.Figure:
    """Each segment's share of customers beside its share of the value column (an empty chart without one)."""
    if value is None:
        figure = go.Figure()
        figure.add_annotation(text="No value column chosen", showarrow=False, font={"color": "#6b7280"})
        figure.update_xaxes(visible=False)
        figure.update_yaxes(visible=False)
        return base_layout(figure, "What each segment is worth", 200)
    segments = [s for s in names if s >= 0]
    return charts.value_figure(
        {s: value.customer_share(s) for s in segments}, {s: value.value_share(s) for s in segments}, names, value.column
    )
