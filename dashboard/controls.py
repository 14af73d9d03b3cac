"""Controls generated from the engine's parameter specs, and the settings read back from them."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from core.algorithms import ALGORITHMS, AlgorithmSpec, ParamSpec
from core.config import DEFAULT_ALGORITHMS
from core.segmenter import CRITERIA
from dashboard import ids

PARAM_TYPE = "algo-param"
CRITERION_LABELS = {
    "auto": "Automatic (recommended)",
    "silhouette": "Silhouette (higher is better)",
    "davies_bouldin": "Davies-Bouldin (lower is better)",
    "calinski_harabasz": "Calinski-Harabasz (higher is better)",
    "dbcv": "DBCV, for density models (higher is better)",
    "stability": "Bootstrap stability (higher is better)",
}


def algorithm_options() -> list[dict[str, str]]:
    return [{"label": spec.label, "value": key} for key, spec in ALGORITHMS.items()]


def default_algorithms() -> list[str]:
    return list(DEFAULT_ALGORITHMS)


def criterion_options() -> list[dict[str, str]]:
    return [{"label": CRITERION_LABELS[c], "value": c} for c in CRITERIA]


def parameter_panels() -> dbc.Accordion:
    """One panel per algorithm with a control for each of its parameters."""
    return dbc.Accordion(
        [
            dbc.AccordionItem(
                [html.P(spec.help, className="small text-muted mb-2"), *[_control(spec, p) for p in spec.params]],
                title=spec.label,
                item_id=spec.key,
            )
            for spec in ALGORITHMS.values()
        ],
        start_collapsed=True,
        always_open=True,
        className="param-panels",
    )


def _control(spec: AlgorithmSpec, param: ParamSpec) -> html.Div:
    control_id = {"type": PARAM_TYPE, "algorithm": spec.key, "name": param.name}
    if param.kind == "choice":
        control = dbc.Select(
            id=control_id,
            options=[{"label": c, "value": c} for c in param.choices],
            value=param.default,
            size="sm",
            persistence=True,
        )
    else:
        control = dbc.Input(
            id=control_id,
            type="number",
            value=param.default,
            min=param.low,
            max=param.high,
            step=1 if param.kind == "int" else "any",
            size="sm",
            persistence=True,
        )
    return html.Div(
        [
            dbc.Label(param.name, html_for=str(control_id), className="small mb-0 fw-semibold"),
            control,
            dbc.FormText(param.help),
        ],
        className="mb-2",
    )


def parameters_from_controls(values: list[Any], ids: list[dict[str, str]], algorithms: list[str]) -> dict:
    """Parameters of the chosen algorithms that differ from their defaults (validated later by the engine)."""
    params: dict[str, dict[str, Any]] = {}
    for value, control in zip(values, ids):
        algorithm = control["algorithm"]
        if algorithm not in algorithms:
            continue
        spec = {p.name: p for p in ALGORITHMS[algorithm].params}[control["name"]]
        if value is None or value == "":
            continue
        if value != spec.default:
            params.setdefault(algorithm, {})[spec.name] = value
    return params


def preparation_controls() -> dbc.Row:
    """Outlier handling, the transform of skewed numeric columns (missing values are imputed, categories one-hot
    encoded and numbers scaled in every run) and the classifier that assigns new customers."""
    return dbc.Row(
        [
            dbc.Col(
                [
                    dbc.Label("Missing numbers are filled with", className="small mb-0"),
                    dbc.Select(
                        id=ids.IMPUTE,
                        value="median",
                        size="sm",
                        persistence=True,
                        options=[
                            {"label": "the median", "value": "median"},
                            {"label": "the mean", "value": "mean"},
                            {"label": "the 5 most similar customers (KNN)", "value": "knn"},
                        ],
                    ),
                ],
                md=4,
            ),
            dbc.Col(
                [
                    dbc.Label("Numbers are scaled", className="small mb-0"),
                    dbc.Select(
                        id=ids.SCALE,
                        value="standard",
                        size="sm",
                        persistence=True,
                        options=[
                            {"label": "to z-scores (standard)", "value": "standard"},
                            {"label": "by median and IQR (robust to outliers)", "value": "robust"},
                            {"label": "to 0-1 (min-max)", "value": "minmax"},
                        ],
                    ),
                ],
                md=4,
            ),
            dbc.Col(
                dbc.FormText(
                    "Categories are one-hot encoded (the 20 most common levels; rarer ones grouped; "
                    "missing ones take the most common level). Dates become days before the newest."
                ),
                md=4,
                className="pt-3",
            ),
            dbc.Col(
                [
                    dbc.Label("Outliers are found by", className="small mb-0"),
                    dbc.Select(
                        id=ids.OUTLIER_METHOD,
                        value="iqr",
                        size="sm",
                        persistence=True,
                        options=[
                            {"label": "IQR rule (1.5 x IQR beyond the quartiles)", "value": "iqr"},
                            {"label": "z-score (beyond 3 standard deviations)", "value": "zscore"},
                        ],
                    ),
                ],
                md=4,
            ),
            dbc.Col(
                [
                    dbc.Label("and then", className="small mb-0"),
                    dbc.Select(
                        id=ids.OUTLIER_ACTION,
                        value="keep",
                        size="sm",
                        persistence=True,
                        options=[
                            {"label": "kept as they are", "value": "keep"},
                            {"label": "capped at the limits (winsorized)", "value": "cap"},
                            {"label": "left out of fitting, then assigned and marked", "value": "exclude"},
                        ],
                    ),
                ],
                md=4,
            ),
            dbc.Col(
                [
                    dbc.Label("Skewed numeric columns", className="small mb-0"),
                    dbc.Select(
                        id=ids.TRANSFORM,
                        value="yeo-johnson",
                        size="sm",
                        persistence=True,
                        options=[
                            {"label": "left as they are", "value": "none"},
                            {"label": "log1p transformed", "value": "log1p"},
                            {"label": "Yeo-Johnson transformed (default)", "value": "yeo-johnson"},
                        ],
                    ),
                ],
                md=4,
            ),
            dbc.Col(
                [
                    dbc.Label("New customers are assigned by", className="small mb-0"),
                    dbc.Select(
                        id=ids.CLASSIFIER,
                        value="logistic",
                        size="sm",
                        persistence=True,
                        options=[
                            {"label": "logistic regression (fast)", "value": "logistic"},
                            {"label": "random forest (for curved segment borders)", "value": "forest"},
                        ],
                    ),
                ],
                md=4,
            ),
            dbc.Col(html.Div(id=ids.OUTLIER_NOTE, className="small text-muted mt-1"), md=12),
        ],
        className="g-2 mb-2",
    )


def graph(graph_id: str, height: int = 340) -> dcc.Graph:
    """A chart placeholder of the final height, so the page does not jump when the figure arrives."""
    return dcc.Graph(id=graph_id, config={"displaylogo": False}, figure={"layout": {"height": height}})


def upload_zone(upload_id: str, title: str, hint: str, max_mb: int) -> html.Div:
    """A drop zone for one file, with the size limit in its hint.

    dcc.Upload drops a file over ``max_size`` without a word; assets/upload_limit.js writes why in the note below
    the zone (the limit travels in ``data-max-bytes``), before anything is sent.
    """
    return html.Div(
        [
            dcc.Upload(
                id=upload_id,
                children=html.Div([html.Strong(title), html.Div(hint, className="small text-muted")]),
                max_size=max_mb * 1024 * 1024,
                multiple=False,
                className="upload-zone",
            ),
            html.Div(className="upload-refused text-danger small mt-1", role="alert"),
        ],
        # a data-* attribute, which Dash's typed signature does not list
        **{"data-max-bytes": str(max_mb * 1024 * 1024)},  # type: ignore[arg-type]
    )
