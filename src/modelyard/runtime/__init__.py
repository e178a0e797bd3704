"""Models in memory: verified loading and the predictor callers hold."""
