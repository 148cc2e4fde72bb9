"""Configuration: one YAML file plus ``VMS_*`` environment overrides, validated by pydantic.

Precedence (highest first): explicit keyword arguments, environment variables (``VMS_`` prefix, nested keys
joined with ``__``, e.g. ``VMS_STORAGE__ENDPOINT``), the YAML file, the defaults below.
A bad file raises :class:`ConfigError` whose message names the file, the path of the bad key and the problem.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and why."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HttpConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    public_url: str | None = None


class DatabaseConfig(_Section):
    url: str | None = Field(None, description="SQLAlchemy URL; empty means SQLite at <data_dir>/vms.sqlite3")
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _known_dialect(cls, v: str | None) -> str | None:
        if v and not re.match(r"^(sqlite|postgresql)(\+\w+)?://", v):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        return v


class StorageConfig(_Section):
    endpoint: str | None = Field(
        None, description="host:port of the S3 server (MinIO); empty runs an embedded SeaweedFS"
    )
    access_key: str = "vms"
    secret_key: str = "vms-secret-key"
    secure: bool = False
    region: str | None = None
    recordings_bucket: str = "vms-recordings"
    evidence_bucket: str = "vms-evidence"
    embedded_s3_port: int = Field(0, ge=0, le=65535, description="0 picks a free port")

    @field_validator("endpoint")
    @classmethod
    def _host_port(cls, v: str | None) -> str | None:
        if v and ("://" in v or not re.match(r"^[A-Za-z0-9.\-\[\]:]+:\d+$", v)):
            raise ValueError("must be host:port without a scheme, e.g. minio:9000 (set secure for TLS)")
        return v

    @field_validator("recordings_bucket", "evidence_bucket")
    @classmethod
    def _bucket_name(cls, v: str) -> str:
        if not re.match(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", v):
            raise ValueError("must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)")
        return v


class AuthConfig(_Section):
    session_hours: float = Field(12, gt=0, le=24 * 30)
    cookie_secure: bool = False
    login_attempts_per_minute: int = Field(10, ge=1)

    @property
    def session_ttl(self) -> timedelta:
        return timedelta(hours=self.session_hours)


class RecordingConfig(_Section):
    segment_seconds: float = Field(10, ge=1, le=300)
    spool_max_bytes: int = Field(2 * 1024**3, ge=16 * 1024**2)
    batch_margin_seconds: float = Field(300, ge=0)
    unlinked_retention_days: int = Field(30, ge=1)
    batch_retention_days: int = Field(5 * 365, ge=1)
    offline_alert_seconds: float = Field(60, ge=1)
    rtsp_client: Literal["lean", "ffmpeg"] = Field(
        "lean",
        description="lean: one reader thread for all cameras (FFmpeg still takes B-frame streams); "
        "ffmpeg: FFmpeg's RTSP demuxer, one thread per camera",
    )


class EvidenceConfig(_Section):
    retention_days: int = Field(5 * 365, ge=1)
    max_upload_bytes: int = Field(64 * 1024**3, ge=1024)
    upload_expiry_hours: float = Field(24, gt=0, description="an unfinished upload is dropped after this")
    signing_key_path: Path | None = Field(
        None, description="Ed25519 key that signs evidence packages; empty: <data_dir>/evidence-signing.key"
    )


class IceServerConfig(_Section):
    urls: list[str] = Field(
        min_length=1, description="stun:host:port, turn:host:port?transport=udp|tcp, turns:host:port"
    )
    username: str | None = None
    credential: str | None = None


class ViewerConfig(_Section):
    ice_servers: list[IceServerConfig] = Field(default_factory=list)
    ice_host_addresses: list[str] = Field(
        default_factory=list, description="only these host candidates; empty: all interfaces"
    )
    ice_loopback: bool = True
    max_live_sessions: int = Field(64, ge=1)
    live_connect_timeout_seconds: float = Field(30, gt=0)


class BayConfig(_Section):
    code: str = Field(pattern=CODE_PATTERN)
    name: str = ""
    cameras: list[str] = Field(default_factory=list, description="codes of the cameras covering this bay")


class SiteConfig(_Section):
    code: str = Field(pattern=CODE_PATTERN)
    name: str = ""
    bays: list[BayConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_bays(self) -> SiteConfig:
        _require_unique([b.code for b in self.bays], "bay code")
        return self


def validate_rtsp_url(v: str) -> str:
    """Accept rtsp:// and rtsps:// URLs with a host; credentials belong in username/password."""
    parts = urlsplit(v)
    if parts.scheme not in ("rtsp", "rtsps"):
        raise ValueError("must be an rtsp:// or rtsps:// URL")
    if not parts.hostname:
        raise ValueError("has no host")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise ValueError("has an invalid port") from exc
    return v


class CameraConfig(_Section):
    code: str = Field(pattern=CODE_PATTERN)
    name: str = ""
    site: str | None = None
    main_url: str
    sub_url: str | None = None
    username: str | None = None
    password: str | None = None
    enabled: bool = True
    retention_days: int | None = Field(None, ge=1)

    @field_validator("main_url", "sub_url")
    @classmethod
    def _rtsp(cls, v: str | None) -> str | None:
        return None if v is None else validate_rtsp_url(v)


class Settings(BaseSettings):
    """The whole configuration of one yard-vms node."""

    model_config = SettingsConfigDict(
        env_prefix="VMS_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    data_dir: Path = Path("data")
    timezone: str = "Asia/Shanghai"
    default_language: Literal["zh", "en"] = "zh"
    secret_key: str | None = Field(
        None, description="key that encrypts camera credentials; empty: generated under data_dir"
    )
    http: HttpConfig = HttpConfig()
    database: DatabaseConfig = DatabaseConfig()
    storage: StorageConfig = StorageConfig()
    auth: AuthConfig = AuthConfig()
    recording: RecordingConfig = RecordingConfig()
    evidence: EvidenceConfig = EvidenceConfig()
    viewer: ViewerConfig = ViewerConfig()
    sites: list[SiteConfig] = Field(default_factory=list)
    cameras: list[CameraConfig] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as Asia/Shanghai)") from exc
        return v

    @model_validator(mode="after")
    def _references(self) -> Settings:
        _require_unique([s.code for s in self.sites], "site code")
        _require_unique([c.code for c in self.cameras], "camera code")
        known_cameras = {c.code for c in self.cameras}
        known_sites = {s.code for s in self.sites}
        for site in self.sites:
            for bay in site.bays:
                for cam_code in bay.cameras:
                    if cam_code not in known_cameras:
                        raise ValueError(
                            f"site {site.code!r} bay {bay.code!r} names camera {cam_code!r}, "
                            "which is not declared under cameras"
                        )
        for cam in self.cameras:
            if cam.site is not None and cam.site not in known_sites:
                raise ValueError(f"camera {cam.code!r} names site {cam.site!r}, which is not declared")
        return self

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{(self.data_dir / 'vms.sqlite3').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)


def _require_unique(values: list[str], what: str) -> None:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            raise ValueError(f"duplicate {what} {v!r}")
        seen.add(v)


def _format_location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def format_validation_error(exc: ValidationError, source: str) -> str:
    lines = []
    for err in exc.errors():
        loc = _format_location(tuple(err["loc"]))
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see docs/configuration.md)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        lines.append(f"{source}: {loc}: {msg}")
    return "\n".join(lines)


def load_settings(path: Path | str | None = None, **overrides: Any) -> Settings:
    """Read the YAML file (if any), apply ``VMS_*`` environment overrides and ``overrides``, validate."""
    data: dict[str, Any] = {}
    source = "environment"
    if path is not None:
        p = Path(path)
        source = str(p)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{p}: configuration file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{p}: cannot read configuration file: {exc}") from None
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise ConfigError(f"{p}: not valid YAML{where}: {problem}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{p}: the top level must be a mapping of keys (data_dir:, storage:, ...)")
        data = loaded
    env_values = EnvSettingsSource(Settings)()
    merged = _deep_merge(_deep_merge(data, env_values), overrides)
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out
