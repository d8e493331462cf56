"""tenantsync: keeps a service's directory in step with a Microsoft 365 / Exchange organization."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tenantsync")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
