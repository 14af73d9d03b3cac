"""One fitted scikit-learn pipeline that turns customer columns into clustering features.

It is saved with the model, so a new customer is transformed exactly as the training customers were.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

MAX_CATEGORIES = 20


class DaysBeforeNewest(TransformerMixin, BaseEstimator):
    """Turn date columns into days before the newest date seen in fit (a tenure or recency in days)."""

    def fit(self, X: pd.DataFrame, y=None) -> DaysBeforeNewest:
        dates = _as_dates(X)
        self.feature_names_in_ = np.asarray(dates.columns, dtype=object)
        newest = dates.max().max()
        self.reference_ = pd.Timestamp("1970-01-01") if pd.isna(newest) else newest
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self)
        dates = _as_dates(X)
        return pd.DataFrame(
            {c: (self.reference_ - dates[c]).dt.total_seconds() / 86400.0 for c in dates.columns}, index=X.index
        )

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self)
        return np.asarray(self.feature_names_in_, dtype=object)


def _as_dates(X: pd.DataFrame) -> pd.DataFrame:
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    return frame.apply(lambda column: pd.to_datetime(column, errors="coerce"))


def _as_object(X: pd.DataFrame) -> pd.DataFrame:
    """Categories as plain Python strings, so imputing and encoding behave the same for every pandas dtype."""
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    return frame.astype(object).where(frame.notna(), np.nan).map(lambda v: v if v is np.nan else str(v))


def _as_float(X: pd.DataFrame) -> pd.DataFrame:
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    return frame.apply(lambda column: pd.to_numeric(column, errors="coerce")).astype(float)


def build_preprocessor(roles: dict[str, str]) -> ColumnTransformer:
    """Build the (unfitted) preprocessing pipeline for feature columns and their roles.

    Numeric: median imputation and standard scaling. Categorical: most-frequent imputation and one-hot encoding
    (rare levels grouped, unseen levels ignored). Date: days before the newest date, then as numeric.
    """
    numeric = [c for c, r in roles.items() if r == "numeric"]
    categorical = [c for c, r in roles.items() if r == "categorical"]
    dates = [c for c, r in roles.items() if r == "date"]
    steps = []
    if numeric:
        steps.append(("numeric", _numeric_pipeline(FunctionTransformer(_as_float, feature_names_out="one-to-one")), numeric))
    if dates:
        steps.append(("date", _numeric_pipeline(DaysBeforeNewest()), dates))
    if categorical:
        encoder = OneHotEncoder(
            handle_unknown="infrequent_if_exist", max_categories=MAX_CATEGORIES, sparse_output=False
        )
        steps.append(
            (
                "categorical",
                Pipeline(
                    [
                        ("as_text", FunctionTransformer(_as_object, feature_names_out="one-to-one")),
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        ("encode", encoder),
                    ]
                ),
                categorical,
            )
        )
    return ColumnTransformer(steps, remainder="drop", verbose_feature_names_out=False).set_output(
        transform="pandas"
    )


def _numeric_pipeline(first_step: BaseEstimator) -> Pipeline:
    return Pipeline(
        [("convert", first_step), ("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
    )
