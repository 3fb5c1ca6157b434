"""Which TLS and credentials the Temporal connection uses, from settings alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.service import TLSConfig

from activities.settings import Settings
from activities.temporal_client import TemporalSettingsInvalid, tls_config


def test_the_dev_server_is_reached_without_tls():
    assert tls_config(Settings()) is False


def test_an_api_key_alone_turns_on_tls_with_the_system_roots():
    assert tls_config(Settings(temporal_api_key="key-1")) is True


def test_mutual_tls_reads_the_client_pair_the_ca_and_the_server_name(tmp_path: Path):
    for name in ("client.pem", "client.key", "ca.pem"):
        (tmp_path / name).write_bytes(f"-----{name}-----".encode())
    config = tls_config(
        Settings(
            temporal_tls_client_cert_path=tmp_path / "client.pem",
            temporal_tls_client_key_path=tmp_path / "client.key",
            temporal_tls_server_ca_path=tmp_path / "ca.pem",
            temporal_tls_server_name="temporal-frontend",
        )
    )
    assert isinstance(config, TLSConfig)
    assert config.client_cert == b"-----client.pem-----"
    assert config.client_private_key == b"-----client.key-----"
    assert config.server_root_ca_cert == b"-----ca.pem-----"
    assert config.domain == "temporal-frontend"


def test_a_client_certificate_without_its_key_is_refused(tmp_path: Path):
    with pytest.raises(ValidationError, match="set both or neither"):
        Settings(temporal_tls_client_cert_path=tmp_path / "client.pem")


def test_a_missing_certificate_file_names_the_setting(tmp_path: Path):
    with pytest.raises(TemporalSettingsInvalid, match="temporal_tls_server_ca_path"):
        tls_config(Settings(temporal_tls_server_ca_path=tmp_path / "absent.pem"))


def test_tls_files_with_tls_switched_off_are_refused(tmp_path: Path):
    with pytest.raises(TemporalSettingsInvalid, match="temporal_tls is false"):
        tls_config(Settings(temporal_tls=False, temporal_tls_server_name="frontend"))


def test_the_api_key_is_kept_out_of_the_settings_repr():
    assert "key-secret" not in repr(Settings(temporal_api_key="key-secret"))
