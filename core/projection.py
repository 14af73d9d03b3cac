"""UMAP coordinates of customers for the map: nonlinear neighbours kept together, on a sample the browser can draw."""

from __future__ import annotations

import warnings

import numpy as np

UMAP_MAX_ROWS = 10_000  # UMAP costs ~35 s per 20k rows on 2 cores; the map shows a stratified sample anyway


def umap_coordinates(Z: np.ndarray, n_components: int = 3, seed: int = 0) -> np.ndarray:
    """UMAP embedding of the rows of Z (15 neighbours, min_dist 0.1), as float32."""
    with warnings.catch_warnings():
        # umap warns that a fixed random_state disables parallelism: reproducible maps are worth it.
        warnings.filterwarnings("ignore", message=".*n_jobs value.*overridden.*")
        warnings.filterwarnings("ignore", category=UserWarning, module="umap")
        # umap-learn says at import that TensorFlow (for ParametricUMAP, which is not used) is missing.
        warnings.filterwarnings("ignore", message="Tensorflow not installed", category=ImportWarning)
        from umap import UMAP  # imported on use: the import alone takes seconds

        model = UMAP(n_components=n_components, n_neighbors=min(15, len(Z) - 1), min_dist=0.1, random_state=seed)
        return model.fit_transform(Z).astype(np.float32)
