"""App-only tokens (OAuth 2.0 client credentials) for Graph and the Exchange admin API.

Two token sources speak the same wire format (Entra ID v2.0 token endpoint):

* :class:`MsalTokenSource`, the production path: MSAL's ConfidentialClientApplication
  with a client secret or a certificate. For an authority that is not Microsoft's
  (the sandbox) instance discovery is turned off, so MSAL reads the authority's own
  OpenID configuration over HTTPS, checking it against ``ca_file``.
* :class:`FormTokenSource`: a plain form POST through an :class:`HttpClient`, used when
  an in-process transport is plugged in (MSAL has its own HTTP stack and cannot use
  one). Client secret only.

Both cache each scope's token until a minute before it expires. A throttled (429) or
failing (5xx) token endpoint is retried a bounded number of times, waiting as long as its
``Retry-After`` asks; when it does not let up, the ``SourceError(retryable=True)`` says
that the token endpoint is throttling or unavailable, never how its answer failed to parse.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol

import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tenantsync.connectors.http import HttpClient, retry_after_seconds
from tenantsync.errors import AuthError, ConfigError, SourceError

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
EXCHANGE_SCOPE = "https://outlook.office365.com/.default"
MICROSOFT_AUTHORITY_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoftonline.us",
        "login.chinacloudapi.cn",
        "login.partner.microsoftonline.cn",
    }
)
EARLY_RENEWAL_SECONDS = 60.0
TOKEN_ATTEMPTS = 4
TOKEN_BACKOFF = 0.5
TOKEN_RETRY_AFTER_MAX = 60.0
TOKEN_TIMEOUT = 60.0


class TokenSource(Protocol):
    """Anything that hands out bearer tokens for a scope."""

    async def token(self, scope: str) -> str:
        """A valid access token for ``scope``."""
        ...


@dataclass(frozen=True)
class Credential:
    """A client secret, or a certificate given as PEM (private key and certificate)."""

    client_secret: str | None = None
    certificate_pem: str | None = None

    @classmethod
    def from_secret(cls, secret: dict[str, str]) -> Credential:
        """The credential in a connection's decrypted secret dictionary."""
        credential = cls(
            client_secret=secret.get("client_secret"), certificate_pem=secret.get("certificate")
        )
        if credential.client_secret is None and credential.certificate_pem is None:
            raise ConfigError("the connection has neither client_secret nor certificate")
        return credential

    def for_msal(self) -> str | dict[str, str]:
        """The ``client_credential`` argument MSAL expects."""
        if self.certificate_pem is None:
            assert self.client_secret is not None
            return self.client_secret
        pem = self.certificate_pem.encode()
        try:
            key = serialization.load_pem_private_key(pem, password=None)
            cert = x509.load_pem_x509_certificate(pem)
        except ValueError as exc:
            raise ConfigError(
                "certificate must be PEM holding an unencrypted private key and its certificate",
                field="certificate",
            ) from exc
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        return {"private_key": key_pem, "public_certificate": cert_pem}


class _Cache:
    """Tokens per scope until shortly before they expire."""

    def __init__(self) -> None:
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = asyncio.Lock()

    def get(self, scope: str) -> str | None:
        entry = self._tokens.get(scope)
        if entry is None or entry[1] <= time.monotonic():
            return None
        return entry[0]

    def put(self, scope: str, token: str, expires_in: float) -> None:
        lifetime = max(0.0, expires_in - EARLY_RENEWAL_SECONDS)
        self._tokens[scope] = (token, time.monotonic() + lifetime)

    async def fetch(self, scope: str, acquire: Callable[[], Awaitable[dict[str, Any]]]) -> str:
        """The cached token, or one ``acquire`` gets (once, however many callers wait)."""
        cached = self.get(scope)
        if cached is not None:
            return cached
        async with self._lock:
            cached = self.get(scope)
            if cached is not None:
                return cached
            result = await acquire()
            token = _token_from(result, scope)
            self.put(scope, token, float(result.get("expires_in", 3599)))
            return token


def _endpoint_error(status: int, attempts: int) -> SourceError:
    """The retryable error of a token endpoint that kept answering ``status``."""
    what = "is throttling" if status == 429 else "is unavailable"
    return SourceError(
        f"token endpoint {what} (HTTP {status}) after {attempts} attempts",
        retryable=True,
        status=status,
    )


class _EndpointBusy(Exception):
    """The token endpoint answered 429 or 5xx (raised from inside MSAL's HTTP call, so MSAL
    never tries to read a throttled answer's text body as a token response)."""

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


class _TokenSession(requests.Session):
    """MSAL's HTTP: stops at a throttled or failing token answer, and verifies TLS with the
    connection's CA file when it has one, whatever the environment says.

    requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` override a session's ``verify``
    (psf/requests#3829); the connection's own CA file must win. Proxies from the
    environment still apply.
    """

    def __init__(self, ca_file: str | None) -> None:
        super().__init__()
        self._ca_file = ca_file
        if ca_file:
            self.verify = ca_file

    def merge_environment_settings(
        self,
        url: str | bytes | None,
        proxies: MutableMapping[str, str] | None,
        stream: bool | None,
        verify: bool | str | None,
        cert: str | tuple[str, str] | None,
    ) -> Any:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if self._ca_file:
            settings["verify"] = self._ca_file
        return settings

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", TOKEN_TIMEOUT)
        return super().request(method, url, *args, **kwargs)

    def post(self, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        response = super().post(url, *args, **kwargs)
        if response.status_code == 429 or response.status_code >= 500:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            raise _EndpointBusy(response.status_code, wait)
        return response


class MsalTokenSource:
    """Tokens from MSAL's ConfidentialClientApplication (secret or certificate)."""

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        credential: Credential,
        authority_host: str = "https://login.microsoftonline.com",
        ca_file: str | None = None,
    ) -> None:
        import msal

        host = authority_host.rstrip("/")
        if not host.startswith("https://"):
            raise ConfigError("must be an https:// URL", field="authority_host")
        microsoft = host.removeprefix("https://").split("/")[0] in MICROSOFT_AUTHORITY_HOSTS
        # MSAL remembers a throttled or failed answer and replays it for up to a minute; the
        # retries below own the waiting, so they clear that memory before trying again.
        self._throttle_state: dict[Any, Any] = {}
        try:
            self._app = msal.ConfidentialClientApplication(
                client_id,
                client_credential=credential.for_msal(),
                authority=f"{host}/{tenant_id}",
                instance_discovery=microsoft,
                validate_authority=microsoft,
                http_client=_TokenSession(ca_file),
                token_cache=msal.TokenCache(),
                http_cache=self._throttle_state,
            )
        except ValueError as exc:
            raise ConfigError(str(exc), field="authority_host") from exc
        except Exception as exc:  # MSAL fetches the authority's OpenID configuration here
            raise SourceError(f"cannot reach the authority {host}: {exc}", retryable=True) from exc
        self._cache = _Cache()

    async def token(self, scope: str) -> str:
        """A cached token, or a new one from the token endpoint."""
        return await self._cache.fetch(scope, lambda: self._acquire_with_retries(scope))

    async def _acquire_with_retries(self, scope: str) -> dict[str, Any]:
        for attempt in range(1, TOKEN_ATTEMPTS + 1):
            try:
                return await asyncio.to_thread(self._acquire, scope)
            except _EndpointBusy as busy:
                if attempt == TOKEN_ATTEMPTS:
                    raise _endpoint_error(busy.status, attempt) from None
                wait = busy.retry_after
            except SourceError:
                if attempt == TOKEN_ATTEMPTS:
                    raise
                wait = None
            self._throttle_state.clear()
            await asyncio.sleep(_backoff(attempt, wait))
        raise AssertionError("the last attempt returns or raises")

    def _acquire(self, scope: str) -> dict[str, Any]:
        try:
            result: dict[str, Any] = self._app.acquire_token_for_client(scopes=[scope])
        except _EndpointBusy:
            raise
        except Exception as exc:  # requests' connection errors, TLS failures
            raise SourceError(f"token endpoint unreachable: {exc}", retryable=True) from exc
        return result


def _backoff(attempt: int, retry_after: float | None) -> float:
    """Seconds before retry ``attempt``: what Retry-After asked (bounded), else exponential."""
    if retry_after is not None:
        return min(retry_after, TOKEN_RETRY_AFTER_MAX)
    return float(TOKEN_BACKOFF * 2 ** (attempt - 1))


class FormTokenSource:
    """Tokens by a client-credentials form POST through an :class:`HttpClient`."""

    def __init__(
        self,
        http: HttpClient,
        *,
        tenant_id: str,
        client_id: str,
        credential: Credential,
        authority_host: str,
    ) -> None:
        if credential.client_secret is None:
            raise ConfigError(
                "certificate credentials need MSAL over HTTPS, not an in-process transport",
                field="certificate",
            )
        self._http = http
        self._url = f"{authority_host.rstrip('/')}/{tenant_id}/oauth2/v2.0/token"
        self._client_id = client_id
        self._secret = credential.client_secret
        self._cache = _Cache()

    async def token(self, scope: str) -> str:
        """A cached token, or a new one from the token endpoint."""
        return await self._cache.fetch(scope, lambda: self._post(scope))

    async def _post(self, scope: str) -> dict[str, Any]:
        # The HttpClient retries 429 and 502-504 as for any request, honouring Retry-After;
        # when it gives up, the error names the token endpoint instead of a URL.
        try:
            response = await self._http.request(
                "POST",
                self._url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": self._client_id,
                    "client_secret": self._secret,
                    "scope": scope,
                },
            )
        except SourceError as exc:
            if exc.status is None:
                raise
            raise _endpoint_error(exc.status, self._http.options.max_attempts) from exc
        try:
            result: dict[str, Any] = response.json()
        except ValueError:
            result = {"error": f"HTTP {response.status_code}", "error_description": ""}
        if response.status_code >= 500:
            raise SourceError(
                f"token endpoint answered HTTP {response.status_code}",
                retryable=True,
                status=response.status_code,
            )
        return result


def _token_from(result: dict[str, Any], scope: str) -> str:
    """The access token of a token-endpoint answer, or an AuthError saying why not."""
    token = result.get("access_token")
    if isinstance(token, str) and token:
        return token
    error = result.get("error", "no access_token")
    description = str(result.get("error_description", "")).split("\r\n")[0].split("\n")[0]
    raise AuthError(f"no token for {scope}: {error}: {description}".rstrip(": "))
