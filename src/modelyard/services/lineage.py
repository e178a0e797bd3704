"""The lineage of a version as one JSON-friendly document: version → run → datasets → code."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modelyard.domain.entities import DatasetVersion, ModelVersion, Run


def lineage_document(
    version: ModelVersion, run: Run | None, datasets: Sequence[DatasetVersion]
) -> dict[str, Any]:
    """What ``modelyard lineage`` prints and the admin API returns."""
    git = version.provenance.get("git", {})
    return {
        "version": {
            "ref": version.ref,
            "flavor": version.flavor,
            "status": str(version.status),
            "created_at": version.created_at.isoformat(),
            "created_by": version.created_by,
            "metrics": version.metrics,
            "aliases": list(version.aliases),
            "files": [{"name": f.name, "sha256": f.sha256, "size": f.size} for f in version.files],
        },
        "run": None
        if run is None
        else {
            "id": run.id,
            "experiment": run.experiment,
            "name": run.name,
            "status": str(run.status),
            "params": run.params,
            "metrics": run.metrics,
            "git": run.provenance.get("git", {}),
        },
        "datasets": [
            {
                "ref": d.ref,
                "sha256": d.sha256,
                "rows": d.rows,
                "size": d.size,
                "source": d.source,
            }
            for d in datasets
        ],
        "code": {
            "commit": git.get("commit"),
            "dirty": git.get("dirty"),
            "branch": git.get("branch"),
        },
        "environment": {
            "python": version.provenance.get("python"),
            "libraries": version.provenance.get("libraries", {}),
            "host": version.provenance.get("host"),
            "user": version.provenance.get("user"),
        },
    }
