"""duban's settings: every knob an operator turns, read from ``DUBAN_*`` environment variables.

One object, built once at the edge (CLI, worker, API) and passed down; nothing reads the
environment anywhere else, so tests can build a ``Settings`` with exactly what they need.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from activities.blobs.filetypes import DEFAULT_ALLOWED_TYPES, KINDS, OCTET_STREAM


def default_data_dir() -> Path:
    """One data directory per user, wherever a command runs: ``$XDG_DATA_HOME/duban``, or
    ``~/.local/share/duban`` (the XDG default). Not the current directory: a command run
    elsewhere must find the stack ``duban up`` runs, not start another one."""
    base = os.environ.get("XDG_DATA_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return root / "duban"


class Settings(BaseSettings):
    # populate_by_name: a field read from the environment under another name too (otel_endpoint)
    # is still set by its own name in code and tests.
    model_config = SettingsConfigDict(
        env_prefix="DUBAN_", env_file=None, extra="ignore", populate_by_name=True
    )

    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the PostgreSQL database (postgresql+psycopg2://...). "
            "Unset: `duban up` starts an embedded PostgreSQL under the data directory, and "
            "other commands use the database of the `duban up` recorded in running.json."
        ),
    )
    database_app_role: str = Field(
        default="duban_app",
        description=(
            "The login role the running application connects as (migrations make it, with "
            "INSERT and SELECT only on the event tables). Its URL is database_app_url, or "
            "database_url with the user swapped for this role (trust/peer authentication). "
            "Empty: connect as database_url's user (give that user only the app role's rights)."
        ),
        pattern=r"^[a-z_][a-z0-9_]{0,62}$|^$",
    )
    database_app_url: str | None = Field(
        default=None,
        description=(
            "URL the running application connects with, as the app role (with its password "
            "when the server asks for one). Unset: database_url with the user swapped for "
            "database_app_role. database_url (the owner) is then used by migrations only."
        ),
    )
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Where the embedded PostgreSQL, the Temporal dev server's file, keys, "
        "checkpoints and running.json (where the running `duban up` listens, for every other "
        "command to find it) live.",
    )
    time_zone: str = Field(default="Asia/Shanghai", description="Time zone of deadlines.")
    checkpoint_key_path: Path | None = Field(
        default=None,
        description="Ed25519 private key (PEM) that signs checkpoints; it must live outside "
        "the database. Default: <data_dir>/keys/checkpoint-ed25519.pem",
    )
    checkpoint_dir: Path | None = Field(
        default=None,
        description="Directory where signed checkpoints are kept. Default: <data_dir>/checkpoints",
    )
    max_event_bytes: int = Field(
        default=256 * 1024,
        gt=0,
        description="Largest serialised data + metadata of one event, in bytes.",
    )
    policy_file: Path | None = Field(
        default=None,
        description="The supervision policy (TOML). Unset: the shipped default policy.",
    )
    calendar_file: Path | None = Field(
        default=None,
        description="Administrator's working-day calendar (TOML) for years chinese-calendar "
        "does not know (`duban calendar load` installs one). Default: <data_dir>/calendar.toml, "
        "when it exists.",
    )
    temporal_address: str | None = Field(
        default=None,
        description="host:port of the Temporal frontend. Unset: `duban up` starts a dev server, "
        "and other commands use the address recorded in running.json (else 127.0.0.1:7233).",
    )
    temporal_namespace: str = Field(default="default")
    task_queue: str = Field(default="duban")
    webhook_url: str | None = Field(
        default=None, description="Where notifications are POSTed (JSON). Unset: kept queued."
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    log_level: str = Field(default="INFO")
    log_format: str = Field(default="json", pattern="^(json|console)$")
    reports_dir: Path | None = Field(
        default=None,
        description="Where reports are written as JSON and CSV. Default: <data_dir>/reports",
    )
    report_catchup_days: int = Field(
        default=366,
        gt=0,
        description="How far back the report schedules catch up runs missed while Temporal "
        "was down (the schedules' catch-up window), in days.",
    )

    # ---- deploy: connections to a Temporal cluster, health and metrics (issue [deploy]) ----
    # The database's TLS rides on database_url (…?sslmode=verify-full&sslrootcert=/path/ca.pem).
    temporal_tls: bool | None = Field(
        default=None,
        description="Speak TLS to the Temporal frontend. Unset: on when any temporal_tls_* "
        "path or temporal_api_key is set, off otherwise.",
    )
    temporal_tls_client_cert_path: Path | None = Field(
        default=None,
        description="Client certificate (PEM) for mutual TLS to Temporal; with "
        "temporal_tls_client_key_path.",
    )
    temporal_tls_client_key_path: Path | None = Field(
        default=None, description="Private key (PEM) of the mutual-TLS client certificate."
    )
    temporal_tls_server_ca_path: Path | None = Field(
        default=None,
        description="CA bundle (PEM) that signed the Temporal frontend's certificate. "
        "Unset: the system's trusted roots.",
    )
    temporal_tls_server_name: str | None = Field(
        default=None,
        description="Name to verify in the frontend's certificate when it differs from the "
        "host in temporal_address (e.g. behind a load balancer).",
    )
    temporal_api_key: SecretStr | None = Field(
        default=None,
        description="API key of a managed Temporal service (sent as a bearer token; implies "
        "TLS). Prefer mutual TLS or the API key, not both.",
    )
    worker_metrics_host: str = Field(
        default="0.0.0.0",
        description="Interface of the worker's /healthz, /readyz and /metrics server.",
    )
    worker_metrics_port: int = Field(
        default=9464,
        ge=0,
        le=65535,
        description="Port of the worker's /healthz, /readyz and /metrics (duban's own "
        "metrics). 0: no server.",
    )
    temporal_metrics_port: int = Field(
        default=9465,
        ge=0,
        le=65535,
        description="Port where the worker's Temporal SDK runtime serves its Prometheus "
        "metrics (/metrics; polls, task latencies, slots). 0: not exported.",
    )
    metrics_refresh_seconds: float = Field(
        default=15.0,
        gt=0,
        description="How often the worker samples the read model for the open-case, overdue "
        "and projector-lag gauges, in seconds.",
    )

    # ---- tracing (activities/tracing.py) ----
    otel_endpoint: str | None = Field(
        default=None,
        # The standard variable too, so that an OpenTelemetry Operator or a platform that sets
        # it for every workload turns duban's tracing on; DUBAN_OTEL_ENDPOINT wins.
        validation_alias=AliasChoices("DUBAN_OTEL_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
        description="Base URL of an OpenTelemetry collector's OTLP/HTTP receiver (e.g. "
        "http://otel-collector:4318; spans go to <it>/v1/traces). Unset: "
        "OTEL_EXPORTER_OTLP_ENDPOINT if that is set (an empty value here ignores it), else no "
        "tracing: nothing recorded, exported or logged. Set: the API, the worker and `duban up` "
        "export one trace per command (HTTP request, Temporal update, workflow task, "
        "activity, event-store append) and log lines within it carry trace_id and span_id.",
    )

    # ---- evidence files (activities/blobs/) ----
    blob_store: Literal["directory", "s3"] = Field(
        default="directory",
        description="Where evidence files and thumbnails are kept: a directory (blob_dir) or "
        "an S3-compatible bucket (blob_s3_*, for a cluster: every API and worker process "
        "must see the same files).",
    )
    blob_dir: Path | None = Field(
        default=None,
        description="The directory store's root (on a filesystem with hard links). "
        "Default: <data_dir>/blobs",
    )
    blob_s3_endpoint: str | None = Field(
        default=None,
        description="URL of the S3-compatible service, e.g. https://oss-cn-hangzhou.aliyuncs.com "
        "or http://minio:9000 (https:// unless on a private network).",
    )
    blob_s3_bucket: str | None = Field(
        default=None, description="The bucket (made by the operator; duban does not create it)."
    )
    blob_s3_prefix: str = Field(
        default="", description="Key prefix inside the bucket, e.g. duban/ (a shared bucket)."
    )
    blob_s3_region: str | None = Field(default=None, description="The bucket's region.")
    blob_s3_access_key: str | None = Field(default=None, description="S3 access key id.")
    blob_s3_secret_key: SecretStr | None = Field(default=None, description="S3 secret key.")
    evidence_max_bytes: int = Field(
        default=25 * 1024 * 1024,
        gt=0,
        description="Largest evidence file, in bytes (reading stops there; 413 "
        "evidence.too_large).",
    )
    # NoDecode: the environment variable is a comma-separated list (or a JSON array).
    evidence_allowed_types: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_ALLOWED_TYPES),
        description="Media types accepted as evidence, read from the file's bytes (never its "
        "name). Default: JPEG, PNG, WebP, HEIC, PDF, DOCX, XLSX. Others duban recognises: "
        "text/plain, image/heif, image/avif, image/gif, image/tiff, PPTX.",
    )
    thumbnail_size: int = Field(
        default=256, ge=32, le=1024, description="Longer side of a thumbnail, in pixels."
    )
    thumbnail_max_pixels: int = Field(
        default=50_000_000,
        gt=0,
        description="Largest image (width × height, after a JPEG's draft scaling) decoded for "
        "a thumbnail; a larger one gets none (decompression-bomb guard).",
    )

    @field_validator("evidence_allowed_types", mode="before")
    @classmethod
    def _types_list(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [t.strip() for t in text.split(",") if t.strip()]
        return value

    @field_validator("evidence_allowed_types")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        unknown = [t for t in value if t not in KINDS or t == OCTET_STREAM]
        if unknown:
            known = ", ".join(sorted(t for t in KINDS if t != OCTET_STREAM))
            raise ValueError(
                f"evidence_allowed_types: duban cannot recognise {', '.join(unknown)} from a "
                f"file's bytes; known: {known}"
            )
        if not value:
            raise ValueError("evidence_allowed_types: name at least one type")
        return value

    @field_validator("blob_s3_endpoint")
    @classmethod
    def _s3_endpoint_url(cls, value: str | None) -> str | None:
        from urllib.parse import urlsplit

        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise ValueError("blob_s3_endpoint: an http:// or https:// URL with no path")
        return value

    @model_validator(mode="after")
    def _s3_complete(self) -> Settings:
        if self.blob_store == "s3" and not (self.blob_s3_endpoint and self.blob_s3_bucket):
            raise ValueError("blob_store=s3 needs blob_s3_endpoint and blob_s3_bucket")
        return self

    # ---- notices: their words and the channels that carry them (activities/channels/) ----
    public_url: str | None = Field(
        default=None,
        description="Base URL at which people open duban (e.g. https://duban.example.gov.cn). "
        "Every notice links to its case under it (<it>/console/cases/<hazard id>). Unset: "
        "notices carry the path alone.",
    )
    notice_language: str = Field(
        default="zh",
        pattern="^(zh|en)$",
        description="Language of the notices' words: zh (Chinese) or en (English).",
    )
    deliveries_enabled: bool = Field(
        default=True,
        description="Whether each worker fans the outbox out to people (the inbox, and e-mail, "
        "SMS and work-chat robots where configured) and delivers (activities/deliveries).",
    )
    delivery_max_attempts: int = Field(
        default=12,
        ge=1,
        le=100,
        description="Attempts of one delivery before it is given up into the operator's queue "
        "(`duban notifications list --status given_up`; `duban notifications retry`).",
    )
    delivery_backoff_seconds: float = Field(
        default=2.0,
        gt=0,
        description="First wait after a failed delivery; each further failure doubles it.",
    )
    delivery_backoff_max_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="The longest wait between two attempts of one delivery.",
    )
    channel_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long one delivery to a work-chat robot, the webhook or the SMS "
        "provider may take, in seconds (per connect, write and read).",
    )
    smtp_host: str | None = Field(
        default=None,
        description="The SMTP server that sends notices by e-mail. Unset: no e-mail channel.",
    )
    smtp_port: int = Field(
        default=587, ge=1, le=65535, description="Its port: 587 (STARTTLS), 465 (SSL), 25."
    )
    smtp_security: str = Field(
        default="starttls",
        pattern="^(starttls|ssl|none)$",
        description="starttls (upgrade the connection; refused if the server does not offer "
        "it), ssl (TLS from the first byte) or none (plain: a relay on the same host only).",
    )
    smtp_username: str | None = Field(
        default=None, description="Login at the SMTP server. Unset: send without logging in."
    )
    smtp_password: SecretStr | None = Field(default=None, description="Password of that login.")
    smtp_from_address: str | None = Field(
        default=None,
        description="The address notices come from (e.g. duban@yjj.example.gov.cn); needed "
        "with smtp_host. Message-IDs are made in its domain.",
    )
    smtp_from_name: str = Field(
        default="督办", description="Display name of that address (Chinese is fine)."
    )
    smtp_ca_file: Path | None = Field(
        default=None,
        description="CA bundle (PEM) that signed the SMTP server's certificate, when it is a "
        "private CA. Unset: the system's trusted roots.",
    )
    smtp_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long one SMTP exchange may wait, in seconds."
    )
    wecom_robot_url: SecretStr | None = Field(
        default=None,
        description="A WeCom (企业微信) group robot's webhook URL "
        "(https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…): the bureau's own group "
        "(e.g. its duty group). The key in it is the secret.",
    )
    dingtalk_robot_url: SecretStr | None = Field(
        default=None,
        description="A DingTalk (钉钉) custom robot's webhook URL "
        "(https://oapi.dingtalk.com/robot/send?access_token=…): the bureau's own group.",
    )
    dingtalk_robot_secret: SecretStr | None = Field(
        default=None,
        description="That robot's signing secret (加签, the SEC… string). Unset: unsigned "
        "(the robot must then be secured by keyword or IP).",
    )
    feishu_robot_url: SecretStr | None = Field(
        default=None,
        description="A Feishu/Lark (飞书) custom bot's webhook URL "
        "(https://open.feishu.cn/open-apis/bot/v2/hook/…): the bureau's own group.",
    )
    feishu_robot_secret: SecretStr | None = Field(
        default=None,
        description="That bot's signing secret (签名校验). Unset: unsigned.",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Shared secret that signs each POST of the generic webhook channel "
        "(X-Duban-Signature: sha256=HMAC-SHA256 of timestamp + '.' + body). Unset: unsigned.",
    )
    sms_endpoint: str = Field(
        default="https://dysmsapi.aliyuncs.com/",
        description="Alibaba Cloud SMS (dysmsapi SendSms) endpoint the SMS channel POSTs to.",
    )
    sms_access_key_id: str | None = Field(
        default=None,
        description="AccessKey ID for Alibaba Cloud SMS (a RAM user allowed SendSms only). "
        "Unset: no SMS channel.",
    )
    sms_access_key_secret: SecretStr | None = Field(
        default=None, description="Its AccessKey secret (signs every request, HMAC-SHA1)."
    )
    sms_sign_name: str | None = Field(
        default=None, description="The approved SMS signature (短信签名), e.g. 某某应急管理局."
    )
    sms_template_code: str | None = Field(
        default=None, description="The approved template's code (模板CODE, SMS_…)."
    )
    sms_template_param: str = Field(
        default="subject",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,31}$",
        description="Name of the template's one variable (${subject}); duban fills it with "
        "the notice's subject, at most 35 characters.",
    )
    sms_region_id: str = Field(default="cn-hangzhou", description="RegionId of the SMS requests.")

    @field_validator("public_url", "sms_endpoint")
    @classmethod
    def _a_web_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{info.field_name}: an http:// or https:// URL")
        return value

    @field_validator("wecom_robot_url", "dingtalk_robot_url", "feishu_robot_url")
    @classmethod
    def _a_robot_url(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("http://", "https://")):
            raise ValueError(f"{info.field_name}: an http:// or https:// URL")
        return value

    @model_validator(mode="after")
    def _channels_complete(self) -> Settings:
        if self.smtp_host and not self.smtp_from_address:
            raise ValueError("smtp_from_address: needed when smtp_host is set")
        sms = {
            "sms_access_key_id": self.sms_access_key_id,
            "sms_access_key_secret": self.sms_access_key_secret,
            "sms_sign_name": self.sms_sign_name,
            "sms_template_code": self.sms_template_code,
        }
        missing = [name for name, value in sms.items() if not value]
        if 0 < len(missing) < len(sms):
            raise ValueError(f"{', '.join(missing)}: needed for the SMS channel as well")
        return self

    # ---- the console's sign-in (api/console; issue 16) ----
    console_idle_minutes: int = Field(
        default=30,
        ge=1,
        le=24 * 60,
        description="A console session unused this many minutes ends (the next request goes "
        "to the sign-in page).",
    )
    console_absolute_hours: int = Field(
        default=12,
        ge=1,
        le=7 * 24,
        description="A console session ends this many hours after its sign-in, used or not.",
    )
    console_tls_proxy: bool = Field(
        default=False,
        description="Browsers reach duban through a proxy that terminates HTTPS and forwards "
        "plain HTTP: console cookies are marked Secure whatever scheme a request arrives with. "
        "Without it they are Secure when the request's scheme is https (served over TLS, or "
        "X-Forwarded-Proto from an address uvicorn trusts: FORWARDED_ALLOW_IPS, default "
        "127.0.0.1).",
    )
    console_account_failures: int = Field(
        default=5,
        ge=1,
        description="Failed sign-ins in a row for one login name (known or not) that lock it.",
    )
    console_account_lock_minutes: int = Field(
        default=15, ge=1, description="How long a locked login name stays locked, in minutes."
    )
    console_address_failures: int = Field(
        default=20,
        ge=1,
        description="Failed sign-ins from one client address within "
        "console_address_window_minutes that refuse every further sign-in from it until they "
        "fall out of the window.",
    )
    console_address_window_minutes: int = Field(
        default=15, ge=1, description="The window of console_address_failures, in minutes."
    )

    @field_validator("otel_endpoint")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if not value:
            return None  # empty: off (DUBAN_OTEL_ENDPOINT="" overrides the standard variable)
        if not value.startswith(("http://", "https://")):
            raise ValueError("otel_endpoint: an http:// or https:// URL of an OTLP/HTTP receiver")
        return value

    @model_validator(mode="after")
    def _client_certificate_in_pairs(self) -> Settings:
        if (self.temporal_tls_client_cert_path is None) != (
            self.temporal_tls_client_key_path is None
        ):
            raise ValueError(
                "temporal_tls_client_cert_path and temporal_tls_client_key_path: set both "
                "or neither"
            )
        return self

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"time_zone: unknown IANA time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def resolved_checkpoint_key_path(self) -> Path:
        return self.checkpoint_key_path or self.data_dir / "keys" / "checkpoint-ed25519.pem"

    @property
    def resolved_checkpoint_dir(self) -> Path:
        return self.checkpoint_dir or self.data_dir / "checkpoints"

    @property
    def resolved_blob_dir(self) -> Path:
        return self.blob_dir or self.data_dir / "blobs"
