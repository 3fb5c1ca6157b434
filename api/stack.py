"""Where the running ``duban up`` listens, and how every other command finds it.

`duban up` keeps a record in its data directory, ``running.json`` (mode 0600: it holds the
database URL): written when it starts (``starting``), rewritten once the API answers
(``running``: the database URL, the Temporal address, the API and UI addresses, its pid) and
removed when it stops. A record whose process is gone, or whose API no longer takes
connections, is stale: that `duban up` was killed (SIGKILL, a power cut).

Every other command reads its settings from the environment and takes from a live record
what the environment does not say (``command_settings``). With neither a database URL nor a
live record it starts nothing: it refuses in one line that says what to do.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import ValidationError

from activities.settings import Settings

RECORD_FILE = "running.json"
STARTING = "starting"
RUNNING = "running"
PROBE_SECONDS = 1.0

# Settings a command takes from the record where its environment does not set them, one by
# one, except the two database URLs, taken together or not at all: a URL from the
# environment and the other from the record would name two databases.
SHARED_SETTINGS: tuple[tuple[str, ...], ...] = (
    ("database_url", "database_app_url"),
    ("database_app_role",),
    ("temporal_address",),
    ("temporal_namespace",),
    ("task_queue",),
    ("policy_file",),
    ("calendar_file",),
    ("time_zone",),
    ("checkpoint_key_path",),
    ("checkpoint_dir",),
    ("reports_dir",),
)
START_HINT = "start duban with `make up` (or `duban up`)"


class StackNotRunning(RuntimeError):
    """A command needs the stack `duban up` runs, and none is running (or it is starting)."""


class SettingsInvalid(ValueError):
    """A ``DUBAN_*`` setting has a value duban cannot use; the message names it."""


@dataclass(frozen=True)
class StackRecord:
    """What ``running.json`` holds. ``settings``: the values every other command needs to
    reach this stack (the resolved database URL and Temporal address, and whatever else
    `duban up` was configured with among ``SHARED_SETTINGS``), as strings."""

    pid: int
    host: str
    state: str
    started_at: str
    data_dir: str
    api_url: str | None = None
    temporal_address: str | None = None
    temporal_ui_url: str | None = None
    database: str | None = None  # for people: where the database is, without a password
    policy: str | None = None  # for people: the policy in force
    settings: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def from_json(text: str) -> StackRecord:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        known = StackRecord.__dataclass_fields__
        return StackRecord(**{k: v for k, v in data.items() if k in known})

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)


@dataclass(frozen=True)
class StackStatus:
    """What became of the `duban up` a record names: ``running``, ``starting`` or ``stale``
    (with the reason), or ``absent`` (no record)."""

    state: Literal["running", "starting", "stale", "absent"]
    path: Path
    record: StackRecord | None = None
    reason: str = ""


def record_path(data_dir: Path) -> Path:
    return data_dir / RECORD_FILE


def write_private_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only, replacing it atomically (a
    reader sees the old file or the new one, never half of one)."""
    staging = path.with_name(path.name + ".tmp")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text + "\n")
    staging.chmod(0o600)  # an older staging file keeps its mode through O_CREAT
    os.replace(staging, path)


def write_record(data_dir: Path, record: StackRecord) -> None:
    write_private_file(record_path(data_dir), record.to_json())


def remove_record(data_dir: Path, pid: int) -> None:
    """Remove the record if it is still this process's (never another `duban up`'s)."""
    path = record_path(data_dir)
    with contextlib.suppress(OSError, ValueError):
        if StackRecord.from_json(path.read_text(encoding="utf-8")).pid == pid:
            path.unlink()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    # A killed process its parent has not reaped yet still answers to kill(0).
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _accepts_connections(url: str) -> bool:
    parts = urlsplit(url)
    if parts.hostname is None or parts.port is None:
        return False
    try:
        with socket.create_connection((parts.hostname, parts.port), PROBE_SECONDS):
            return True
    except OSError:
        return False


def stack_status(data_dir: Path) -> StackStatus:
    """Whether the `duban up` recorded in ``data_dir`` runs: its pid is alive on this host
    and (once running) its API takes connections — a pid alone could be reused."""
    path = record_path(data_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return StackStatus("absent", path)
    except OSError as exc:
        return StackStatus("stale", path, reason=f"cannot read it: {exc.strerror}")
    try:
        record = StackRecord.from_json(text)
    except (ValueError, TypeError) as exc:
        return StackStatus("stale", path, reason=f"it is not a record duban wrote: {exc}")
    if record.host != socket.gethostname():
        return StackStatus("stale", path, record, f"it was written on host {record.host}")
    if not _process_alive(record.pid):
        return StackStatus("stale", path, record, f"process {record.pid} is gone")
    if record.state == STARTING:
        return StackStatus("starting", path, record)
    if record.api_url is None or not _accepts_connections(record.api_url):
        return StackStatus("stale", path, record, f"nothing answers at {record.api_url}")
    return StackStatus("running", path, record)


def load_settings(**values: Any) -> Settings:
    """``Settings`` from the environment (and ``values``), a bad value refused naming its
    environment variable."""
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise SettingsInvalid(_settings_problem(exc, values)) from None


def _settings_problem(exc: ValidationError, given: Mapping[str, Any]) -> str:
    problems = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        message = str(error["msg"]).removeprefix("Value error, ").removeprefix(f"{name}: ")
        where = f"DUBAN_{name.upper()}" if name else "DUBAN_* settings"
        if name in given:
            where += f" (from {RECORD_FILE})"
        problems.append(f"{where}: {message}")
    return "; ".join(problems)


def command_settings(*, needs_database: bool = True) -> Settings:
    """The settings of a command other than `duban up`: the environment's, completed from the
    live record of the `duban up` in the data directory. ``needs_database``: refuse
    (``StackNotRunning``, saying what to do) when no database can be reached that way."""
    settings = load_settings()
    status = stack_status(settings.data_dir)
    if status.state == "running" and status.record is not None:
        recorded = status.record.settings
        taken: dict[str, str] = {}
        for group in SHARED_SETTINGS:
            if not any(name in settings.model_fields_set for name in group):
                taken.update({name: recorded[name] for name in group if name in recorded})
        if taken:
            settings = load_settings(**taken)
    if needs_database and not (settings.database_url or settings.database_app_url):
        raise StackNotRunning(_not_running_message(status, settings.data_dir))
    return settings


def _not_running_message(status: StackStatus, data_dir: Path) -> str:
    if status.state == "starting" and status.record is not None:
        return (
            f"duban up (pid {status.record.pid}) is still starting; try again once it has "
            "printed its addresses"
        )
    if status.state == "stale":
        return (
            f"the duban up recorded in {status.path} is not running ({status.reason}); {START_HINT}"
        )
    return (
        f"nothing is running: no duban up has recorded itself in {data_dir} and "
        f"DUBAN_DATABASE_URL is not set; {START_HINT}, or set DUBAN_DATA_DIR to the data "
        "directory of the one that runs"
    )
