"""model.joblib: everything a run leaves for scoring new customers, renaming and rebuilding the report without the
data. A typed bundle with a format version; a file of another program or of an older version gets a clear message
(version 2 files, plain dicts, are still read)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib
import numpy as np
import pandas as pd

from core.atomic import atomic_write
from core.charts import map_sample
from core.errors import SegmentationError
from core.explain import SegmentExplainer
from core.monitor import Reference, reference_of
from core.playbook import Play
from core.predict import Scorer, legacy_scorer
from core.value import SegmentValue

if TYPE_CHECKING:
    from core.pipeline import SegmentationResult

FORMAT = "segmentation-studio/model"
VERSION = 3
REPORT_MAP_POINTS = 5_000


@dataclass
class SourceRecord:
    """Where a run's customers came from: run.json's ``input``, the report's data section.

    Attributes:
        file: the file's name (or what the table was called in the app).
        rows: customers read.
        columns: the columns read, in order.
        read_as: how the file was read (format, encoding, delimiter).
        path: the file's full path (command line runs).
        sha256: the file's checksum (command line runs), to warn when a replayed run reads another file; for a
            database source, the checksum of the rows read.
        database: the connection's name, for customers read from a database (never its URL or password).
        query: the query that read them, which a replay of run.json runs again.
    """

    file: str = ""
    rows: int = 0
    columns: list[str] = field(default_factory=list)
    read_as: str = ""
    path: str | None = None
    sha256: str | None = None
    database: str | None = None
    query: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> SourceRecord:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})


@dataclass
class MapSample:
    """The customers the report's map draws (at most 5,000, every segment represented)."""

    coords: np.ndarray
    labels: np.ndarray
    ids: np.ndarray
    id_label: str
    explained: list[float]
    total: int


@dataclass
class ModelBundle:
    """What model.joblib holds.

    Attributes:
        scorer: the fitted pipeline, the classifier for new customers, the names, features and engineered features.
        config: the run's configuration (RunConfig.to_dict()).
        explanation: profiles, importances and rules, for the report (None for very old results).
        sizes: customers per segment number.
        map: the map sample of the report.
        source: where the customers came from.
        created: when the bundle was made (UTC, readable).
        value: customers and value per segment (None: no value column).
        plays: each segment's suggested action, insight and the analyst's edited action.
        reference: what `segment monitor` compares a new batch with (None: fewer than two segments).
    """

    scorer: Scorer
    config: dict[str, Any]
    explanation: SegmentExplainer | None
    sizes: dict[int, int]
    map: MapSample
    source: SourceRecord
    created: str
    format: str = FORMAT
    version: int = VERSION
    value: SegmentValue | None = None
    plays: dict[int, Play] | None = None
    reference: Reference | None = None

    @property
    def names(self) -> dict[int, str]:
        return self.scorer.names

    def edited_actions(self) -> dict[int, str]:
        """The actions the analyst set (not the suggestions), to carry to a refit's matching segments."""
        return {k: p.edited for k, p in (getattr(self, "plays", None) or {}).items() if p.edited}

    @classmethod
    def of(
        cls,
        result: SegmentationResult,
        table: pd.DataFrame,
        source: SourceRecord | None = None,
        with_reference: bool = True,
    ) -> ModelBundle:
        """The bundle of a result (``with_reference``: also the monitoring reference, which costs a scoring pass
        over at most 200,000 customers; the report does not need it)."""
        scorer = Scorer.of(result)
        reference = None
        if with_reference and scorer.predictor is not None:
            reference = reference_of(scorer, table, result.labels, result.config.seed)
        value = result.value(result.prepared(table))
        rows = map_sample(result.labels, limit=REPORT_MAP_POINTS, seed=result.config.seed)
        id_column = result.id_column
        ids = table[id_column].iloc[rows].astype(str).to_numpy() if id_column else (rows + 1).astype(str)
        sizes = pd.Series(result.labels).value_counts()
        return cls(
            scorer=scorer,
            config=result.config.to_dict(),
            explanation=result.explanation,
            sizes={int(k): int(v) for k, v in sizes.items()},
            map=MapSample(
                coords=result.embedding[rows],
                labels=result.labels[rows],
                ids=ids,
                id_label=id_column or "Row",
                explained=list(result.explained_variance),
                total=len(result.labels),
            ),
            source=source or SourceRecord(rows=len(table)),
            created=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            value=value,
            plays=result.plays(table, value),
            reference=reference,
        )

    def save(self, path: str | Path) -> None:
        atomic_write(Path(path), lambda target: joblib.dump(self, target))

    @classmethod
    def load(cls, path: str | Path, need_predictor: bool = True) -> ModelBundle:
        """Load a bundle from a path the operator gives (never from an upload: unpickling runs code)."""
        path = Path(path)
        if not path.is_file():
            raise SegmentationError(f"{path}: model file not found.")
        try:
            loaded = joblib.load(path)
        except Exception as exc:  # a damaged or foreign file can raise almost anything while unpickling
            raise SegmentationError(f"{path} could not be loaded as a model ({type(exc).__name__}).") from exc
        bundle = _from_legacy(loaded) if isinstance(loaded, dict) else loaded
        if not isinstance(bundle, ModelBundle) or bundle.format != FORMAT:
            raise SegmentationError(f"{path} is not a model.joblib written by `segment run`.")
        if bundle.version > VERSION:
            raise SegmentationError(
                f"{path} was written by a newer Segmentation Studio (model format "
                f"{bundle.version}); upgrade to read it."
            )
        if need_predictor and bundle.scorer.predictor is None:
            raise SegmentationError(f"{path} has fewer than two segments; there is nothing to assign customers to.")
        return bundle


def _from_legacy(data: dict[str, Any]) -> ModelBundle | None:
    """A version 2 bundle (a dict with the same content), read into the typed form; None for any other dict."""
    if data.get("format") != FORMAT:
        return None
    if data.get("version") != 2:
        raise SegmentationError(
            f"This model.joblib has model format {data.get('version')}, which this version "
            "cannot read; run the segmentation again."
        )
    sample = data["map"]
    return ModelBundle(
        scorer=legacy_scorer(data),
        config=data["config"],
        explanation=data.get("explanation"),
        sizes={int(k): int(v) for k, v in data["sizes"].items()},
        map=MapSample(
            coords=np.asarray(sample["coords"]),
            labels=np.asarray(sample["labels"]),
            ids=np.asarray(sample["ids"]),
            id_label=sample["id_label"],
            explained=list(sample["explained"]),
            total=int(sample["total"]),
        ),
        source=SourceRecord.from_dict(data.get("source")),
        created=data.get("created", ""),
    )
