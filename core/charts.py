"""Plotly figures of a segmentation, shared by the app and the report: one colour per segment everywhere, sampled
so a browser stays light. Built from plain arrays and tables, so they need neither Dash nor a stored result."""

from __future__ import annotations

import html
from collections.abc import Iterable

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from core.algorithms import ALGORITHMS, K_SWEEP_ALGORITHMS, knee_index
from core.quality import UNSTABLE_BELOW

# Colour-blind-safe qualitative palette; a segment keeps its colour (by number) on every chart.
PALETTE = qualitative.Safe
MAX_MAP_POINTS = 50_000
MIN_MAP_POINTS = 200  # per segment, when the map is a sample
TOP_FEATURES = 30  # features in the importance charts


NOISE_COLOUR = "#b8b8b8"
# Every figure is drawn on plotly_white. As the default, a new figure takes it without validation; set on each
# figure (update_layout(template=...)) it was validated and copied every time: a small bar chart took 15.9 ms to
# build and serialise, 6.7 ms now.
pio.templates.default = "plotly_white"


def plot_text(value: object) -> str:
    """Text from the data as Plotly should draw it: as typed.

    Plotly reads <b>, <i>, <a href>, <br> and entities in every label, legend and hover text, so a segment named
    '<b>VIP</b>' would be drawn bold and '<a href=...>' as a link. Escaped, it is drawn as the characters typed.
    """
    return html.escape(str(value), quote=False)


def plot_texts(values: Iterable[object]) -> list[str]:
    return [plot_text(v) for v in values]


def plot_text_column(values: pd.Series) -> pd.Series:
    """plot_text for a whole column at once: hover texts have up to 50,000 rows (5x faster than per value)."""
    text = values.astype(str)
    for raw, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        text = text.str.replace(raw, escaped, regex=False)
    return text


def plot_names(names: dict[int, str]) -> dict[int, str]:
    return {cluster: plot_text(name) for cluster, name in names.items()}


def segment_colour(cluster: int) -> str:
    return NOISE_COLOUR if cluster < 0 else PALETTE[cluster % len(PALETTE)]


def map_sample(labels: np.ndarray, limit: int = MAX_MAP_POINTS, seed: int = 0) -> np.ndarray:
    """Row positions to draw: all of them, or a sample stratified by segment in which every segment appears."""
    if len(labels) <= limit:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    picks = []
    segments, counts = np.unique(labels, return_counts=True)
    for segment, count in zip(segments, counts):
        members = np.flatnonzero(labels == segment)
        take = max(MIN_MAP_POINTS, int(round(limit * count / len(labels))))  # small segments stay visible
        picks.append(rng.choice(members, min(take, count), replace=False))
    return np.sort(np.concatenate(picks))


def pca_axes(explained: list[float]) -> list[str]:
    """Axis titles of the PCA map: 'PC1 (23% of variance)'."""
    return [f"PC{i + 1} ({explained[i]:.0%} of variance)" for i in range(3)]


def id_hover(id_label: str, ids: np.ndarray) -> np.ndarray:
    """Hover text naming each drawn customer by its id (escaped for Plotly)."""
    return (f"{plot_text(id_label)}: " + plot_text_column(pd.Series(ids))).to_numpy(dtype=object)


def customer_map(
    coords: np.ndarray,
    labels: np.ndarray,
    names: dict[int, str],
    axes: list[str],
    hover: np.ndarray,
    space: str,
    total: int | None = None,
    dims: int = 3,
    vector: bool = False,
) -> go.Figure:
    """Customers in a 2D or 3D space, one trace (and legend entry) per segment, coloured as everywhere else: the one
    map of the app and the report.

    Args:
        coords: one row per drawn customer (at least ``dims`` columns).
        hover: the text shown for each customer (id and key features), its values escaped with plot_text.
        space: what the axes are ("PCA", "UMAP"), for the title.
        total: the number of customers the drawn ones were sampled from.
        vector: a 2D map drawn as SVG rather than WebGL (for print, where there is no WebGL).
    """
    figure = go.Figure()
    names = plot_names(names)
    for cluster in sorted(names, key=lambda c: (c < 0, c)):
        mask = labels == cluster
        if dims == 3:
            trace = go.Scatter3d(
                x=coords[mask, 0],
                y=coords[mask, 1],
                z=coords[mask, 2],
                mode="markers",
                marker={"size": 3, "color": segment_colour(cluster), "opacity": 0.8},
            )
        else:
            trace = (go.Scatter if vector else go.Scattergl)(
                x=coords[mask, 0],
                y=coords[mask, 1],
                mode="markers",
                marker={"size": 5, "color": segment_colour(cluster), "opacity": 0.75},
            )
        trace.update(
            name=names[cluster],
            customdata=hover[mask],
            hovertemplate="%{customdata}<br><b>%{fullData.name}</b><extra></extra>",
        )
        figure.add_trace(trace)
    total = total or len(labels)
    shown = f"{len(labels):,} of {total:,} customers" if len(labels) < total else f"{len(labels):,} customers"
    layout = {
        "title": {"text": f"Customers in {space} space ({shown})", "x": 0.02},
        "legend": {"title": {"text": "Segment"}, "itemsizing": "constant"},
        "height": 560,
        "margin": {"l": 0 if dims == 3 else 50, "r": 0, "t": 40, "b": 0 if dims == 3 else 40},
    }
    if dims == 3:
        layout["scene"] = {
            "xaxis": {"title": {"text": axes[0]}},
            "yaxis": {"title": {"text": axes[1]}},
            "zaxis": {"title": {"text": axes[2]}},
        }
    else:
        layout["xaxis"] = {"title": {"text": axes[0]}}
        layout["yaxis"] = {"title": {"text": axes[1]}}
    figure.update_layout(**layout)
    return figure


_LINE_COLOURS = qualitative.D3


def _algorithm_label(key: str) -> str:
    return ALGORITHMS[key].label


def base_layout(figure: go.Figure, title: str, height: int = 340) -> go.Figure:
    figure.update_layout(
        title={"text": title, "x": 0.02},
        height=height,
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.2},
    )
    return figure


def elbow_figure(board: pd.DataFrame) -> go.Figure:
    """Within-segment sum of squares against k for each k-based algorithm, with the knee marked."""
    figure = go.Figure()
    for i, (algorithm, rows) in enumerate(
        board[board["algorithm"].isin(K_SWEEP_ALGORITHMS)].groupby("algorithm", sort=False)
    ):
        rows = rows.dropna(subset=["inertia"]).sort_values("n_clusters")
        if rows.empty:
            continue
        colour = _LINE_COLOURS[i % len(_LINE_COLOURS)]
        figure.add_trace(
            go.Scatter(
                x=rows["n_clusters"],
                y=rows["inertia"],
                mode="lines+markers",
                name=_algorithm_label(algorithm),
                line={"color": colour},
            )
        )
        knee = rows.iloc[knee_index(rows["inertia"].to_numpy())]
        figure.add_trace(
            go.Scatter(
                x=[knee["n_clusters"]],
                y=[knee["inertia"]],
                mode="markers+text",
                marker={"size": 14, "symbol": "circle-open", "color": colour, "line": {"width": 3}},
                text=[f"knee k={int(knee['n_clusters'])}"],
                textposition="top right",
                showlegend=False,
                hoverinfo="skip",
            )
        )
    figure.update_xaxes(title_text="number of segments (k)", dtick=1)
    figure.update_yaxes(title_text="within-segment sum of squares")
    return base_layout(figure, "Elbow: spread within segments")


def metrics_figure(board: pd.DataFrame) -> go.Figure:
    """Silhouette, Davies-Bouldin and Calinski-Harabasz against the number of segments, per algorithm."""
    panels = [
        ("silhouette", "Silhouette ↑"),
        ("davies_bouldin", "Davies-Bouldin ↓"),
        ("calinski_harabasz", "Calinski-Harabasz ↑"),
    ]
    figure = make_subplots(rows=1, cols=3, subplot_titles=[t for _, t in panels], horizontal_spacing=0.08)
    for i, (algorithm, rows) in enumerate(board.groupby("algorithm", sort=False)):
        rows = rows.sort_values("n_clusters")
        colour = _LINE_COLOURS[i % len(_LINE_COLOURS)]
        for col, (metric, _) in enumerate(panels, start=1):
            figure.add_trace(
                go.Scatter(
                    x=rows["n_clusters"],
                    y=rows[metric],
                    mode="lines+markers",
                    name=_algorithm_label(algorithm),
                    legendgroup=algorithm,
                    showlegend=col == 1,
                    line={"color": colour},
                ),
                row=1,
                col=col,
            )
    chosen = board[board["selected"]]
    for col, (metric, _) in enumerate(panels, start=1):
        figure.add_trace(
            go.Scatter(
                x=chosen["n_clusters"],
                y=chosen[metric],
                mode="markers",
                name="chosen",
                showlegend=col == 1,
                marker={"symbol": "star", "size": 16, "color": "#222"},
            ),
            row=1,
            col=col,
        )
        figure.update_xaxes(title_text="segments", row=1, col=col)
    return base_layout(figure, "Quality against the number of segments", height=360)


def agreement_figure(agreement: pd.DataFrame) -> go.Figure:
    """Adjusted Rand index between the models combined in the consensus."""
    labels = [name.split(" (row")[0] for name in agreement.index]
    figure = go.Figure(
        go.Heatmap(
            z=agreement.to_numpy(),
            x=labels,
            y=labels,
            zmin=0,
            zmax=1,
            colorscale="Blues",
            text=np.round(agreement.to_numpy(), 2),
            texttemplate="%{text}",
            colorbar={"title": {"text": "ARI"}},
        )
    )
    figure.update_yaxes(autorange="reversed")
    return base_layout(figure, "Agreement between models (adjusted Rand index)", height=360)


def stability_figure(per_segment: dict[int, float], names: dict[int, str]) -> go.Figure:
    """Bootstrap Jaccard stability per segment, with the 0.6 line below which a segment is not to be trusted."""
    figure = go.Figure()
    if per_segment:
        segments = sorted(per_segment)
        figure.add_trace(
            go.Bar(
                x=[plot_text(names[s]) for s in segments],
                y=[per_segment[s] for s in segments],
                marker={"color": [segment_colour(s) for s in segments]},
                text=[f"{per_segment[s]:.2f}" for s in segments],
                textposition="outside",
                hovertemplate="%{x}: Jaccard %{y:.2f}<extra></extra>",
            )
        )
        figure.add_hline(
            y=UNSTABLE_BELOW,
            line_dash="dash",
            line_color="#c0392b",
            annotation_text="not to be trusted below 0.6",
            annotation_position="top left",
        )
    figure.update_yaxes(range=[0, 1.1], title_text="Jaccard (bootstrap)")
    return base_layout(figure, "Stability of each segment under resampling", height=420)


def importance_figure(importance: pd.DataFrame) -> go.Figure:
    """Permutation importance of each feature (drop in the forest's accuracy when it is shuffled); on a wide table
    the TOP_FEATURES strongest."""
    strongest = importance.sort_values(["importance", "impurity"], ascending=False).head(TOP_FEATURES)
    ordered = strongest.iloc[::-1]
    figure = go.Figure(
        go.Bar(
            x=ordered["importance"],
            y=plot_texts(ordered["feature"]),
            orientation="h",
            marker={"color": "#4477aa"},
            name="permutation",
            hovertemplate="%{y}: accuracy drops by %{x:.3f}<extra></extra>",
        )
    )
    figure.add_trace(
        go.Bar(
            x=ordered["impurity"],
            y=plot_texts(ordered["feature"]),
            orientation="h",
            marker={"color": "#bbbbbb"},
            name="impurity (forest)",
            hovertemplate="%{y}: impurity importance %{x:.3f}<extra></extra>",
        )
    )
    figure.update_xaxes(title_text="importance")
    figure.update_layout(barmode="group")
    title = "Which features separate the segments"
    if len(importance) > len(ordered):
        title += f" (the {len(ordered)} strongest of {len(importance):,})"
    return base_layout(figure, title, height=max(300, 60 + 34 * len(ordered)))


def segment_importance_figure(per_segment: pd.DataFrame, names: dict[int, str]) -> go.Figure:
    """Per segment (one against the rest): drop in balanced accuracy when a feature is shuffled; on a wide table
    the TOP_FEATURES features with the largest drops."""
    measured = per_segment.dropna(how="all")
    strongest = set(measured.max(axis=1).sort_values(ascending=False).index[:TOP_FEATURES])
    per_segment = measured[measured.index.isin(strongest)]
    figure = go.Figure(
        go.Heatmap(
            z=per_segment.to_numpy().T,
            x=plot_texts(per_segment.index),
            y=[plot_text(names[int(s)]) for s in per_segment.columns],
            colorscale="Blues",
            zmin=0,
            text=np.round(per_segment.to_numpy().T, 2),
            texttemplate="%{text}",
            colorbar={"title": {"text": "accuracy drop"}},
        )
    )
    figure.update_yaxes(autorange="reversed")
    return base_layout(
        figure, "Importance per segment (one against the rest)", height=max(300, 120 + 40 * per_segment.shape[1])
    )


def k_distance_figure(distances: np.ndarray, eps: float, min_samples: int) -> go.Figure:
    """Sorted distance to the k-th neighbour; DBSCAN's eps is suggested at the knee."""
    figure = go.Figure(go.Scatter(y=distances, mode="lines", name=f"{min_samples}-distance"))
    figure.add_hline(y=eps, line_dash="dash", annotation_text=f"suggested eps = {eps:.3g}")
    figure.update_xaxes(title_text="customers, sorted")
    figure.update_yaxes(title_text=f"distance to neighbour {min_samples}")
    return base_layout(figure, "k-distance plot (DBSCAN)")


def baseline_figure(crosstab: pd.DataFrame, ari: float) -> go.Figure:
    """Customers of each learned segment (rows) in each rule-based RFM segment (columns)."""
    figure = go.Figure(
        go.Heatmap(
            z=crosstab.to_numpy(),
            x=plot_texts(crosstab.columns),
            y=plot_texts(crosstab.index),
            colorscale="Blues",
            text=crosstab.to_numpy(),
            texttemplate="%{text}",
            colorbar={"title": {"text": "customers"}},
        )
    )
    figure.update_yaxes(autorange="reversed")
    return base_layout(figure, f"Learned segments against the RFM rule segments (ARI {ari:.2f})", height=380)


def silhouette_figure(values: np.ndarray, labels: np.ndarray, names: dict[int, str]) -> go.Figure:
    """The classic silhouette plot: each segment's customers sorted by silhouette, stacked, with the mean marked.

    A segment whose blade is thin or mostly below zero is not well separated from its neighbours.
    """
    figure = go.Figure()
    offset = 0
    for cluster in sorted(set(labels.tolist())):
        blade = np.sort(values[labels == cluster])[::-1]
        y = offset + np.arange(len(blade))
        figure.add_trace(
            go.Scatter(
                x=blade,
                y=y,
                mode="lines",
                fill="tozerox",
                line={"width": 0.5, "color": segment_colour(cluster)},
                name=plot_text(names[cluster]),
                hovertemplate="%{fullData.name}<br>silhouette %{x:.2f}<extra></extra>",
            )
        )
        offset += len(blade) + max(5, len(values) // 60)
    if len(values):
        figure.add_vline(
            x=float(values.mean()),
            line_dash="dash",
            line_color="#c0392b",
            annotation_text=f"mean {values.mean():.2f}",
            annotation_position="top",
        )
    figure.update_xaxes(title_text="silhouette (−1 to 1: higher is better separated)", range=[-0.3, 1])
    figure.update_yaxes(showticklabels=False, title_text="customers, by segment")
    return base_layout(figure, f"Silhouette of each segment ({len(values):,} customers sampled)", height=420)


def effects_figure(profile: pd.DataFrame, names: dict[int, str]) -> go.Figure:
    """Segments side by side: each numeric feature's standardized difference from all customers (Cohen's d)."""
    wide = profile[profile["cluster"] >= 0].pivot(index="cluster", columns="feature", values="effect")
    wide = wide[[c for c in profile["feature"].drop_duplicates() if c in wide.columns]]
    figure = go.Figure(
        go.Heatmap(
            z=wide.to_numpy(),
            x=plot_texts(wide.columns),
            y=[plot_text(names[int(c)]) for c in wide.index],
            zmid=0,
            colorscale="RdBu",
            reversescale=True,
            text=np.round(wide.to_numpy(), 1),
            texttemplate="%{text}",
            colorbar={"title": {"text": "effect (d)"}},
            hovertemplate="%{y}<br>%{x}: %{z:+.2f} sd from all customers<extra></extra>",
        )
    )
    figure.update_yaxes(autorange="reversed")
    return base_layout(
        figure,
        "Segments compared: difference from all customers, in standard deviations",
        height=max(320, 140 + 42 * len(wide)),
    )


def dendrogram_figure(tree: np.ndarray, k: int, drawn: int, total: int, method: str) -> go.Figure:
    """The agglomerative merge tree of ``drawn`` customers (of ``total``), its last 40 merges, cut where ``k``
    segments remain."""
    from scipy.cluster.hierarchy import dendrogram

    shape = dendrogram(tree, truncate_mode="lastp", p=40, no_plot=True)
    figure = go.Figure()
    for xs, ys in zip(shape["icoord"], shape["dcoord"]):
        figure.add_trace(
            go.Scatter(
                x=xs, y=ys, mode="lines", line={"color": "#3d7fd9", "width": 1.2}, hoverinfo="skip", showlegend=False
            )
        )
    heights = np.sort(tree[:, 2])
    cut = (heights[-k] + heights[-k + 1]) / 2 if 1 < k <= len(heights) else heights[-1]
    figure.add_hline(
        y=cut,
        line={"color": "#c0392b", "dash": "dash"},
        annotation_text=f"cut: {k} segments",
        annotation_position="top left",
    )
    sampled = f"a random sample of {drawn:,} of {total:,} customers" if drawn < total else f"all {total:,} customers"
    base_layout(figure, f"Agglomerative ({method}) merge tree of {sampled}; last 40 merges", height=360)
    figure.update_xaxes(showticklabels=False, title_text="groups of customers (leaves hold several)")
    figure.update_yaxes(title_text="merge distance")
    return figure


def value_figure(
    customer_share: dict[int, float], value_share: dict[int, float], names: dict[int, str], column: str
) -> go.Figure:
    """Each segment's share of customers beside its share of value: who is worth more than their number."""
    segments = sorted(s for s in customer_share if s >= 0)
    labels = [plot_text(names.get(s, str(s))) for s in segments]
    figure = go.Figure(
        [
            go.Bar(
                name="share of customers",
                x=labels,
                y=[customer_share[s] for s in segments],
                marker={"color": "#9ca3af"},
                text=[f"{customer_share[s]:.0%}" for s in segments],
                textposition="outside",
                hovertemplate="%{x}: %{y:.1%} of customers<extra></extra>",
            ),
            go.Bar(
                name=f"share of {plot_text(column)}",
                x=labels,
                y=[value_share.get(s, 0.0) for s in segments],
                marker={"color": [segment_colour(s) for s in segments]},
                text=[f"{value_share.get(s, 0.0):.0%}" for s in segments],
                textposition="outside",
                hovertemplate="%{x}: %{y:.1%} of " + plot_text(column) + "<extra></extra>",
            ),
        ]
    )
    figure.update_layout(barmode="group", legend={"orientation": "h", "y": -0.25})
    figure.update_yaxes(tickformat=".0%", title_text="share")
    return base_layout(figure, f"What each segment is worth: share of customers and of {plot_text(column)}", 380)


def _translucent(colour: str, alpha: float = 0.35) -> str:
    """'rgb(r,g,b)' or '#rrggbb' as 'rgba(r,g,b,alpha)': Sankey links in their segment's colour, see-through."""
    if colour.startswith("#"):
        r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    else:
        r, g, b = (int(float(v)) for v in colour[colour.index("(") + 1 : colour.index(")")].split(",")[:3])
    return f"rgba({r},{g},{b},{alpha})"


def shares_figure(shares: pd.DataFrame) -> go.Figure:
    """Segment shares at fit time and in the new batch."""
    labels = plot_texts(shares["segment"])
    figure = go.Figure(
        [
            go.Bar(name="reference", x=labels, y=shares["reference_share"], marker={"color": "#9ca3af"}),
            go.Bar(
                name="new batch",
                x=labels,
                y=shares["new_share"],
                marker={"color": [segment_colour(int(c)) for c in shares["cluster"]]},
            ),
        ]
    )
    figure.update_layout(barmode="group", legend={"orientation": "h", "y": -0.25})
    figure.update_yaxes(tickformat=".0%", title_text="share of customers")
    figure.update_xaxes(tickangle=-15, automargin=True)
    return base_layout(figure, "Segment shares: then and now", 440)


def migration_figure(migration: pd.DataFrame) -> go.Figure:
    """Where customers went: a Sankey from their segment at fit time to their segment now (new customers enter
    from the left, gone ones leave to the right)."""
    figure = go.Figure()
    if len(migration):
        left = [f"{s} (then)" for s in migration["from_segment"]]
        right = [f"{s} (now)" for s in migration["to_segment"]]
        nodes = list(dict.fromkeys(left + right))
        index = {n: i for i, n in enumerate(nodes)}
        clusters = dict(zip(left + right, list(migration["from_cluster"]) + list(migration["to_cluster"])))
        figure.add_trace(
            go.Sankey(
                node={
                    "label": plot_texts(nodes),
                    "color": [segment_colour(int(clusters[n])) if pd.notna(clusters[n]) else "#d1d5db" for n in nodes],
                    "pad": 12,
                },
                link={
                    "source": [index[n] for n in left],
                    "target": [index[n] for n in right],
                    "value": [int(v) for v in migration["customers"]],
                    "color": [
                        _translucent(segment_colour(int(c))) if pd.notna(c) else "rgba(209,213,219,0.5)"
                        for c in migration["from_cluster"]
                    ],
                },
            )
        )
    return base_layout(figure, "Where customers went between the reference and the new batch", 460)
