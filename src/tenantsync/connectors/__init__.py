"""Connectors: one module per source, speaking its wire format, yielding model entities.

Public surface:

* :class:`HttpClient`, :class:`HttpOptions`, :class:`RateLimiter` (``http``): retry,
  backoff, bounded concurrency and rate limiting for every connector;
* :class:`MsalTokenSource`, :class:`FormTokenSource`, :class:`Credential` (``auth``);
* :class:`GraphClient` (``graph``) and :class:`ExchangeClient` (``exchange``, whose
  ``invoke(cmdlet, parameters)`` other features build on);
* :class:`M365Connector`, :func:`connector_for`, :func:`load_connector` (``factory``): all
  of the above for a stored connection;
* :func:`check_connection` (``health``).
"""

from tenantsync.connectors.auth import Credential, FormTokenSource, MsalTokenSource, TokenSource
from tenantsync.connectors.exchange import ExchangeClient
from tenantsync.connectors.factory import (
    ConnectionParams,
    M365Connector,
    connector_for,
    load_connector,
)
from tenantsync.connectors.graph import GraphClient
from tenantsync.connectors.health import CheckLine, check_connection
from tenantsync.connectors.http import HttpClient, HttpOptions, RateLimiter

__all__ = [
    "CheckLine",
    "ConnectionParams",
    "Credential",
    "ExchangeClient",
    "FormTokenSource",
    "GraphClient",
    "HttpClient",
    "HttpOptions",
    "M365Connector",
    "MsalTokenSource",
    "RateLimiter",
    "TokenSource",
    "check_connection",
    "connector_for",
    "load_connector",
]
