"""Tables. Changes here need an Alembic migration in `migrations/versions/`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Dialect, ForeignKey, Integer, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always read back timezone-aware: SQLite drops the zone, every time stored is UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="user")  # "admin" or "user"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # For signing in to the dashboard; None: API keys only.
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Limits (see daytona_server.quotas); missing entries take the defaults.
    quota: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    api_keys: Mapped[list[ApiKey]] = relationship(back_populates="user", cascade="all, delete-orphan")


class ApiKey(Base):
    """An API key. Only its SHA-256 is stored; `prefix` is kept to show a masked key."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship(back_populates="api_keys")


class Sandbox(Base):
    __tablename__ = "sandboxes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    image: Mapped[str] = mapped_column(String(512))  # the name its owner used
    image_ref: Mapped[str | None] = mapped_column(String(512), nullable=True)  # the engine's tag
    os_user: Mapped[str] = mapped_column(String(64))
    env: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    target: Mapped[str] = mapped_column(String(16))
    sandbox_class: Mapped[str] = mapped_column(String(16), default="small")
    cpu: Mapped[int] = mapped_column(Integer)
    gpu: Mapped[int] = mapped_column(Integer, default=0)
    memory: Mapped[int] = mapped_column(Integer)  # GiB
    disk: Mapped[int] = mapped_column(Integer)  # GiB
    auto_stop_interval: Mapped[int] = mapped_column(Integer)  # minutes, 0 = never
    auto_archive_interval: Mapped[int] = mapped_column(Integer, default=7 * 24 * 60)  # minutes, 0 = never
    state: Mapped[str] = mapped_column(String(32), index=True)
    error_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    container_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A long operation's progress, shown to clients while it runs ("restoring: 45% of 1.2 GB").
    progress: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The archive in object storage, while the sandbox is archived.
    archive_key: Mapped[str | None] = mapped_column(String(512), nullable=True)
    archive_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    archive_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Volumes mounted into it: [{"volumeId", "mountPath", "subpath"}].
    volumes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Minutes after a stop before it is deleted; negative = never, 0 = at once.
    auto_delete_interval: Mapped[int] = mapped_column(Integer, default=-1)
    parent_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the sandbox it was forked from
    # Egress (daytona_server.network): policy, static address on the bridge, refused connections counted.
    network_block_all: Mapped[bool] = mapped_column(Boolean, default=False)
    network_allow_list: Mapped[str | None] = mapped_column(Text, nullable=True)  # comma-separated CIDRs
    domain_allow_list: Mapped[str | None] = mapped_column(Text, nullable=True)  # comma-separated domains
    network_ip: Mapped[str | None] = mapped_column(String(15), nullable=True, unique=True, index=True)
    network_refused: Mapped[int] = mapped_column(BigInteger, default=0)
    network_refused_seen: Mapped[int] = mapped_column(BigInteger, default=0)  # the firewall's count at the last fold

    @property
    def network_blocked(self) -> bool:
        """No network: blocked by its policy, or made without an address (networking off, or before it existed)."""
        return self.network_block_all or self.network_ip is None


class Image(Base):
    """An image registered for sandboxes: built, pushed or found on the runner's Docker engine.

    `name` is unique per owner; `engine_ref` is the tag on the engine, namespaced by owner (see
    daytona_server.images.naming). `general` images (the default one, and any an admin marks so)
    are system images: everyone may use them, only admins may change them.
    """

    __tablename__ = "images"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(512))
    engine_ref: Mapped[str] = mapped_column(String(512), unique=True)
    general: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    state: Mapped[str] = mapped_column(String(32))  # pending, validating, active, error, removing
    size: Mapped[float | None] = mapped_column(nullable=True)  # GB
    entrypoint: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Snapshot defaults for sandboxes made from it: {"cpu", "gpu", "memory", "disk"}.
    defaults: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dockerfile: Mapped[str | None] = mapped_column(Text, nullable=True)  # a declarative image's recipe
    source_sandbox_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # taken from a sandbox


class Volume(Base):
    """Named persistent storage, owned by a user, mounted into sandboxes (daytona_server.volumes)."""

    __tablename__ = "volumes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(32))  # ready, deleting, error
    error_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PreviewLink(Base):
    """A signed preview URL: `{port}-{token}.{domain}` reaches the port until it expires or is revoked."""

    __tablename__ = "preview_links"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    sandbox_id: Mapped[str] = mapped_column(String(64), index=True)
    port: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A signed-in dashboard session; the cookie holds the token, the table only its SHA-256."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
