"""QA review: reviewer calibration and the review sample."""
