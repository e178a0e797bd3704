"""HTTP: inference (simple JSON and Open Inference Protocol v2), health, metrics, admin."""
