"""Declarative configuration: `tenantsync apply FILE.yaml` and `tenantsync export ORG`."""

from tenantsync.config.apply import apply_document
from tenantsync.config.export import export_organization
from tenantsync.config.loader import load_document

__all__ = ["apply_document", "export_organization", "load_document"]
