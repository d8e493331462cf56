"""Hybrid deployments: which permissions work across premises (``hybrid_report``), and
migration batches that keep permission holders together (``migration_batches``).

Both read an exported-files connection (``connectors/exported``) for the on-premises side
(and cloud-side files, when given) and the store's cloud side; their result is a report on
the run. Runs go through the pipeline.
"""

from __future__ import annotations

from tenantsync.engine.hybrid.feature import HybridReport, MigrationBatches
from tenantsync.engine.hybrid.options import HybridReportOptions, MigrationBatchesOptions
from tenantsync.engine.registry import DefinitionType

REPORT_TYPE = DefinitionType(
    name="hybrid_report",
    title="Hybrid cross-premises report",
    options_model=HybridReportOptions,
    feature=HybridReport(),
    needs_connection=True,
)
BATCHES_TYPE = DefinitionType(
    name="migration_batches",
    title="Migration batches",
    options_model=MigrationBatchesOptions,
    feature=MigrationBatches(),
    needs_connection=True,
)
DEFINITION_TYPES = (REPORT_TYPE, BATCHES_TYPE)

__all__ = [
    "BATCHES_TYPE",
    "DEFINITION_TYPES",
    "REPORT_TYPE",
    "HybridReportOptions",
    "MigrationBatchesOptions",
]
