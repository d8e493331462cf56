"""Connection kinds: found by name, each with one parameters model whose defaults every
face shares, and refused at registration when a face could not serve them."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pydantic import BaseModel, ConfigDict

from tenantsync.connectors.kinds import connection_kind, connection_kinds, register
from tenantsync.connectors.m365 import M365, M365Connector
from tenantsync.errors import ConfigError


def test_an_unknown_kind_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError) as refused:
        connection_kind("ldif_dump")
    assert refused.value.field == "kind"
    known = "(known: exchange_onprem, exported_files, m365)"
    assert "'ldif_dump'" in str(refused.value) and known in str(refused.value)
    assert connection_kinds()[0].name == "m365"


def test_the_m365_defaults_are_those_of_its_parameters_model() -> None:
    params = connection_kind("m365").stored_params({"tenant_id": "t", "client_id": "c"})
    assert params.model_dump() == {
        "tenant_id": "t",
        "client_id": "c",
        "authority_host": "https://login.microsoftonline.com",
        "graph_url": "https://graph.microsoft.com",
        "exchange_url": "https://outlook.office365.com",
        "ca_file": None,
        "max_concurrency": 8,
        "requests_per_second": None,
    }
    defaults = {f.name: f.default for f in M365.param_fields if not f.required}
    assert defaults["graph_url"] == "https://graph.microsoft.com"


def test_stored_parameters_the_kind_no_longer_has_are_left_out_and_bad_ones_named() -> None:
    stored = {"tenant_id": "t", "client_id": "c", "retired_knob": 1, "graph_url": "https://g/"}
    assert M365.stored_params(stored).graph_url == "https://g"
    with pytest.raises(ConfigError) as bad:
        M365.stored_params({"tenant_id": "t", "client_id": "c", "graph_url": "http://g"})
    assert bad.value.field == "graph_url" and "https://" in str(bad.value)


def test_opening_needs_a_secret_the_kind_takes() -> None:
    params = {"tenant_id": "t", "client_id": "c"}
    with pytest.raises(ConfigError, match="give client_secret or certificate"):
        M365.open(params, {"password": "x"})
    assert isinstance(M365.open(params, {"client_secret": "s"}), M365Connector)


def test_a_kind_serves_only_the_definition_types_it_declares() -> None:
    M365.require_serves("user_sync")
    M365.require_serves("calendar_replication")
    with pytest.raises(ConfigError, match="cannot serve no_such_type"):
        M365.require_serves("no_such_type")


class Nested(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hosts: list[str]


class Lenient(BaseModel):
    path: str


def test_a_kind_whose_parameters_no_form_or_file_could_carry_is_refused() -> None:
    with pytest.raises(TypeError, match="text, a number or yes/no"):
        register(replace(M365, name="nested", params_model=Nested, endpoint_fields=()))
    with pytest.raises(TypeError, match="extra='forbid'"):
        register(replace(M365, name="lenient", params_model=Lenient, endpoint_fields=()))
    with pytest.raises(TypeError, match="registered already"):
        register(M365)
    assert [k.name for k in connection_kinds()] == ["m365", "exchange_onprem", "exported_files"]
