"""Effective configuration: environment variables prefixed ``TENANTSYNC_`` or a settings file.

Precedence, highest first: keyword arguments, environment variables, the YAML file
named by ``TENANTSYNC_SETTINGS_FILE``, defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, IPvAnyNetwork, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

SECRET_FIELDS = frozenset({"admin_password", "session_secret"})


def _default_data_dir() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "tenantsync"


class Settings(BaseSettings):
    """All settings of one tenantsync process."""

    model_config = SettingsConfigDict(env_prefix="TENANTSYNC_", extra="forbid")

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file in the data directory"
    )
    key_file: Path | None = Field(
        default=None, description="Fernet key for credentials at rest; default: data_dir/secret.key"
    )
    retention_days: int = Field(default=90, ge=1, description="days of run history kept")
    restore_window_days: int = Field(default=30, ge=0, description="days a removed mailbox stays")
    lease_seconds: float = Field(default=30.0, gt=0, description="worker lease on a claimed run")
    poll_seconds: float = Field(default=1.0, gt=0, description="worker and scheduler poll period")
    run_attempts: int = Field(
        default=3, ge=1, description="attempts of a run whose source keeps failing transiently"
    )
    retry_backoff_seconds: float = Field(
        default=60.0, ge=0, description="wait before a run's second attempt; doubles each time"
    )
    admin_password: SecretStr | None = None
    session_secret: SecretStr | None = None
    # NoDecode: the environment gives "10.0.0.0/8, 192.0.2.7", not a JSON list.
    trusted_proxies: Annotated[list[IPvAnyNetwork], NoDecode] = Field(
        default_factory=list,
        description="reverse proxies (addresses or networks) whose X-Forwarded-For is believed",
    )

    @field_validator("data_dir", "key_file", mode="after")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part for part in value.replace(",", " ").split() if part]
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        settings_file = os.environ.get("TENANTSYNC_SETTINGS_FILE")
        if settings_file:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=settings_file))
        return tuple(sources)

    @property
    def effective_database_url(self) -> str:
        """The database URL in force (the SQLite file in the data directory by default)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'tenantsync.db'}"

    @property
    def effective_key_file(self) -> Path:
        """Where the key that encrypts credentials lives."""
        return self.key_file or self.data_dir / "secret.key"

    def masked(self) -> dict[str, Any]:
        """The effective settings as plain data, secrets and URL passwords masked."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name in SECRET_FIELDS:
                out[name] = "********" if value is not None else None
            elif isinstance(value, Path):
                out[name] = str(value)
            elif name == "trusted_proxies":
                out[name] = [str(network) for network in value]
            else:
                out[name] = value
        out["database_url"] = mask_url(self.effective_database_url)
        out["key_file"] = str(self.effective_key_file)
        return out


def mask_url(url: str) -> str:
    """The URL with its password replaced by asterisks."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable URL>"
