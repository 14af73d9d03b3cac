"""The segmentation engine: pure Python on pandas, numpy and scikit-learn (never imports dash)."""
