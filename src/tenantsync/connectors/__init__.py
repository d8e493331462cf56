"""Connectors: one module per source, speaking its wire format, yielding model entities.

Public surface:

* :class:`HttpClient`, :class:`HttpOptions`, :class:`RateLimiter` (``http``): retry,
  backoff, bounded concurrency and rate limiting for every connector;
* :class:`MsalTokenSource`, :class:`FormTokenSource`, :class:`Credential` (``auth``);
* :class:`GraphClient` (``graph``) and :class:`ExchangeClient` (``exchange``, whose
  ``invoke(cmdlet, parameters)`` other features build on);
* :class:`ConnectionKind`, :func:`connection_kind`, :func:`connection_kinds` (``kinds``):
  what each kind of connection takes, checks, serves and opens;
* :class:`M365Params`, :class:`M365Connector` (``m365``): the Microsoft 365 kind;
* :func:`check_connection` (``health``).
"""

from tenantsync.connectors.auth import Credential, FormTokenSource, MsalTokenSource, TokenSource
from tenantsync.connectors.exchange import ExchangeClient
from tenantsync.connectors.graph import GraphClient
from tenantsync.connectors.health import CheckLine, check_connection
from tenantsync.connectors.http import HttpClient, HttpOptions, RateLimiter
from tenantsync.connectors.kinds import ConnectionKind, connection_kind, connection_kinds
from tenantsync.connectors.m365 import M365Connector, M365Params

__all__ = [
    "CheckLine",
    "ConnectionKind",
    "Credential",
    "ExchangeClient",
    "FormTokenSource",
    "GraphClient",
    "HttpClient",
    "HttpOptions",
    "M365Connector",
    "M365Params",
    "MsalTokenSource",
    "RateLimiter",
    "TokenSource",
    "check_connection",
    "connection_kind",
    "connection_kinds",
]
