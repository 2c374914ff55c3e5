"""The code location's ingest job at module level, for ``dg.reconstructable`` in tests: the
step processes of a multiprocess run import this module (by its package path) to rebuild it."""

from __future__ import annotations

import dagster as dg


def code_location_ingest() -> dg.JobDefinition:
    from fleet_assets.definitions import defs

    return defs.resolve_job_def("ingest")
