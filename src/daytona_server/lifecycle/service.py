"""Sandbox operations: validate, move through the state machine, drive the runtime, persist.

Methods are blocking (Docker and the database are), so the API calls them from a thread pool.
Operations on one sandbox are serialised by a per-sandbox lock. Long ones (archive, restore) run
as background jobs: the call returns in the transitional state and clients poll. The service
takes domain requests (lifecycle.requests) and returns database rows: each wire format maps both.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import quotas
from ..config import Settings
from ..db.models import Image, Sandbox, User, utcnow
from ..db.session import Database
from ..errors import ApiError, BadRequest, Conflict, Internal, NotFound
from ..images.declarative import BuildLogs, DeclarativeBuilder, recipe_name
from ..images.naming import normalize_name
from ..images.service import ImageService
from ..network import policy as network_policy
from ..network.firewall import FirewallError
from ..network.manager import SandboxNetworks
from ..runner.base import ImageNotFound, Runtime, RuntimeFailure, SandboxSpec
from ..storage import ObjectStore
from ..volumes.service import VolumeService
from .activity import Activity
from .archiver import Archiver
from .pool import Member, PoolKey, WarmPool
from .requests import CLASS_PRESETS, DEFAULT_CLASS, SandboxRequest, new_sandbox_id
from .specs import spec_of
from .states import IllegalTransition, State, accepts_toolbox, transition

log = logging.getLogger("daytona.lifecycle")

ACTIVITY_RESOLUTION = timedelta(seconds=5)
Mounts = list[dict[str, str]]  # a sandbox's volumes, as stored: [{"volumeId", "mountPath", "subpath"}]


def build_log_key(sandbox_id: str) -> str:
    """The build log of a sandbox made from a declarative image."""
    return f"sandbox-{sandbox_id}"


class SandboxService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        runtime: Runtime,
        store: ObjectStore,
        images: ImageService,
        volumes: VolumeService | None = None,
        networks: SandboxNetworks | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.runtime = runtime
        self.store = store
        self.images = images
        self._locks: defaultdict[str, threading.RLock] = defaultdict(threading.RLock)
        self.jobs = ThreadPoolExecutor(max_workers=2, thread_name_prefix="lifecycle-job")
        self.activity = Activity()
        self.volumes = volumes
        self.archiver = Archiver(db, runtime, store, self.update, self.lock, settings.data_dir / "tmp", self.spec)
        self.builder = DeclarativeBuilder(images, BuildLogs(settings.data_dir / "build-logs"))
        self.networks = networks or SandboxNetworks(settings, db, None)
        self._addresses = threading.Lock()  # one static address per sandbox, handed out one at a time
        self.pool = WarmPool(settings, runtime, self.networks, self._allocate, self._addresses, self._id_taken)
        images.listeners.append(self.pool.drain)

    def lock(self, sandbox_id: str) -> threading.RLock:
        return self._locks[sandbox_id]

    # -- lookups ---------------------------------------------------------------------------------

    @staticmethod
    def find(session: Session, user: User | None, sandbox_id: str) -> Sandbox:
        """The sandbox, as `user` may see it (None: the system itself)."""
        sandbox = session.get(Sandbox, sandbox_id)
        # Another user's sandbox is indistinguishable from a missing one.
        if sandbox is None or (user is not None and sandbox.owner_id != user.id and user.role != "admin"):
            raise NotFound(f"sandbox {sandbox_id} not found")
        return sandbox

    def get(self, user: User, sandbox_id: str) -> Sandbox:
        with self.db.session() as session:
            return self.find(session, user, sandbox_id)

    @staticmethod
    def _named(session: Session, user: User, name: str) -> Sandbox | None:
        query = select(Sandbox).where(Sandbox.owner_id == user.id, Sandbox.name == name).order_by(Sandbox.created_at)
        return session.scalars(query).first()

    def get_by_id_or_name(self, user: User, id_or_name: str) -> Sandbox:
        """The sandbox with this id, else the caller's own sandbox with this name."""
        with self.db.session() as session:
            try:
                return self.find(session, user, id_or_name)
            except NotFound:
                found = self._named(session, user, id_or_name)
                if found is None:
                    raise
                return found

    def list(
        self, user: User, labels: dict[str, str] | None = None, states: Iterable[str] | None = None
    ) -> list[Sandbox]:
        with self.db.session() as session:
            query = select(Sandbox).order_by(Sandbox.created_at, Sandbox.id)
            if user.role != "admin":
                query = query.where(Sandbox.owner_id == user.id)
            if states:
                query = query.where(Sandbox.state.in_(list(states)))
            found = list(session.scalars(query))
        if labels:
            found = [s for s in found if all(s.labels.get(k) == v for k, v in labels.items())]
        return found

    def toolbox_allowed(self, user: User, sandbox_id: str, record: bool = True) -> bool:
        """The hot path of `for_toolbox`, from memory (daytona_server.hot_cache): True when it knows the
        toolbox may be used and (with `record`) the activity is recent enough; False: ask for_toolbox."""
        facts = self.db.cache.sandbox(sandbox_id)
        if facts is None or (facts.owner_id != user.id and user.role != "admin") or not accepts_toolbox(facts.state):
            return False
        return not record or utcnow() - facts.last_activity_at <= ACTIVITY_RESOLUTION

    def for_toolbox(self, user: User, sandbox_id: str, record: bool = True) -> Sandbox:
        """The sandbox, if its toolbox can be used now; with `record`, notes the activity (for auto-stop)."""
        generation = self.db.cache.generation
        with self.db.session() as session:
            sandbox = self.find(session, user, sandbox_id)
            if not accepts_toolbox(sandbox.state):
                raise Conflict(
                    f"sandbox {sandbox_id} is {sandbox.state}: start it first (daytona sandbox start {sandbox_id})"
                )
            now = utcnow()
            if record and now - sandbox.last_activity_at > ACTIVITY_RESOLUTION:
                sandbox.last_activity_at = now
                session.commit()
            self.db.cache.put_sandbox(generation, sandbox)  # not when this wrote: the next call does
            return sandbox

    def update(self, sandbox_id: str, **fields: Any) -> None:
        """Set fields of a sandbox in a short transaction of its own (used by jobs and the loop)."""
        with self.db.session() as session:
            sandbox = session.get(Sandbox, sandbox_id)
            if sandbox is None:
                return
            for name, value in fields.items():
                setattr(sandbox, name, value)
            session.commit()

    # -- create ----------------------------------------------------------------------------------

    def create(self, user: User, request: SandboxRequest) -> Sandbox:
        """A new sandbox, started; from a declarative image, it is returned in pending_build and built first."""
        sandbox = self.admit(user, request)
        if request.dockerfile is not None:
            self.builder.logs.start(build_log_key(sandbox.id))
            self.jobs.submit(self._build_then_provision, sandbox.id, user, request.dockerfile)
            return sandbox
        return self.provision(sandbox.id)

    def admit(
        self, user: User, request: SandboxRequest, parent_id: str | None = None, image_ref: str | None = None
    ) -> Sandbox:
        """Validate `request`, check the quota and record the sandbox (creating, or pending_build).

        A fork passes its source (`parent_id`) and the source's engine image (`image_ref`).
        """
        settings = self.settings
        if request.id and (self.pool.holds(request.id) or self.runtime.id_reserved(request.id)):
            raise Conflict(f"sandbox {request.id} already exists: choose another id or delete it first")
        if request.sandbox_class:
            if request.sandbox_class not in CLASS_PRESETS:
                raise BadRequest(f"class must be one of {', '.join(CLASS_PRESETS)}")
            cpu, memory, disk = CLASS_PRESETS[request.sandbox_class]
        else:
            cpu, memory, disk = settings.default_cpu, settings.default_memory_gb, settings.default_disk_gb
        gpu = request.gpu or 0
        network = self.networks.check(request.network_block_all, request.network_allow_list, request.domain_allow_list)
        if gpu and not self.runtime.supports_gpu():
            raise BadRequest(f"gpu={gpu} requested, but this runner has no GPU runtime (nvidia) configured")
        image, ref, resolved = settings.default_image, None, None
        if request.dockerfile is not None:
            image = recipe_name(self.builder.check(request.dockerfile))
        elif image_ref is not None:
            image, ref = request.image or image_ref, image_ref
        else:
            image = normalize_name(request.image) if request.image else settings.default_image
            with self.db.session() as session:
                # Users may use their own images and system ones; admins any image on the runner.
                resolved = self.images.resolve(session, user, image)
            ref = resolved.ref
            defaults = resolved.image.defaults if resolved.image is not None else {}
            cpu, memory = defaults.get("cpu") or cpu, defaults.get("memory") or memory
            disk = defaults.get("disk") or disk
        poolable = request.dockerfile is None and image_ref is None and not request.volumes and not gpu
        poolable = poolable and (not request.id or self.runtime.can_rename())
        member = self.pool.take(PoolKey(ref, request.disk or disk), request.id) if poolable and ref else None
        try:
            # A member of the image shows it is on the runner (the pool drops members of removed images).
            if resolved is not None and member is None and not self.runtime.image_exists(resolved.ref):
                raise BadRequest(f"image {image!r} is registered but gone from the runner: push it again")
            touched = resolved.image if resolved is not None else None
            sandbox = self._record(
                user, request, member, image, ref, touched, gpu, (cpu, memory, disk), network, parent_id
            )
        except BaseException:
            if member is not None:  # not recorded: nobody has its address or id
                self.pool.give_back(member)
            raise
        self._sync_network()  # its rules are in place before its container exists (or its member's claim)
        return sandbox

    def _record(
        self,
        user: User,
        request: SandboxRequest,
        member: Member | None,
        image: str,
        ref: str | None,
        touched: Image | None,
        gpu: int,
        resources: tuple[int, int, int],
        network: network_policy.NetworkPolicy,
        parent_id: str | None,
    ) -> Sandbox:
        """Record the sandbox `admit` checked (`touched`: the image to mark used), in one transaction."""
        settings = self.settings
        cpu, memory, disk = resources
        sandbox_id = request.id or (member.sandbox_id if member is not None else new_sandbox_id())
        sandbox = Sandbox(
            id=sandbox_id,
            owner_id=user.id,
            name=request.name or sandbox_id,
            image=image,
            image_ref=ref,
            os_user=request.os_user or "daytona",
            env=dict(request.env),
            labels=dict(request.labels),
            public=request.public,
            target=request.target or "us",
            sandbox_class=request.sandbox_class or DEFAULT_CLASS,
            cpu=request.cpu or cpu,
            gpu=gpu,
            memory=request.memory or memory,
            disk=request.disk or disk,
            auto_stop_interval=(
                request.auto_stop_interval
                if request.auto_stop_interval is not None
                else settings.default_auto_stop_minutes
            ),
            auto_archive_interval=(
                request.auto_archive_interval
                if request.auto_archive_interval is not None
                else settings.default_auto_archive_minutes
            ),
            auto_delete_interval=request.auto_delete_interval if request.auto_delete_interval is not None else -1,
            state=State.PENDING_BUILD if request.dockerfile is not None else State.CREATING,
            parent_id=parent_id,
            network_block_all=network.block_all,
            network_allow_list=network.allow_list,
            domain_allow_list=network.domain_list,
        )
        # Addresses are handed out one at a time; a pool member comes with its own, and without a
        # network there is none to hand out, so those creates do not queue on the lock.
        addressing: AbstractContextManager[Any] = nullcontext()
        if member is None and self.networks.enabled:
            addressing = self._addresses
        with self.lock(f"user:{user.id}"), addressing, self.db.session() as session:
            if session.get(Sandbox, sandbox_id) is not None:
                raise Conflict(f"sandbox {sandbox_id} already exists: choose another id or delete it first")
            if request.unique_name and request.name and self._named(session, user, request.name) is not None:
                raise Conflict(f"you already have a sandbox named {request.name}: choose another name or delete it")
            sandbox.volumes = self.mounts(session, user, request.volumes)
            quotas.check(session, user, sandbox_id, sandbox.cpu, sandbox.memory, sandbox.disk, new=True, gpu=gpu)
            if member is not None:
                sandbox.network_ip = member.ip  # a pool member keeps its address
            else:
                sandbox.network_ip = self._free_address(session)
            session.add(sandbox)
            self.images.touch(session, touched)
            session.commit()
        return sandbox

    def _free_address(self, session: Session, members: set[str] | None = None) -> str | None:
        """A bridge address no sandbox and no pool member (`members`: theirs, when the pool asks) has;
        the caller holds `_addresses`."""
        stored = session.scalars(select(Sandbox.network_ip).where(Sandbox.network_ip.is_not(None)))
        in_use = {ip for ip in stored if ip is not None}
        return self.networks.allocate(in_use | (self.pool.addresses() if members is None else members))

    def _allocate(self, members: set[str]) -> str | None:
        with self.db.session() as session:
            return self._free_address(session, members)

    def _id_taken(self, sandbox_id: str) -> bool:
        with self.db.session() as session:
            return session.get(Sandbox, sandbox_id) is not None or self.runtime.id_reserved(sandbox_id)

    def _sync_network(self) -> None:
        try:
            self.networks.sync()
        except FirewallError as exc:
            raise Internal(f"the sandbox firewall could not be updated: {exc}") from None

    def spec(self, sandbox: Sandbox, session: Session) -> SandboxSpec:
        """How to make the container of `sandbox` on this runner, its volumes and network included."""
        spec = spec_of(sandbox, session, self.volumes.store if self.volumes is not None else None)
        spec.network, spec.dns = self.networks.attachment(sandbox), self.networks.dns
        return spec

    def mounts(self, session: Session, user: User, requested: Mounts) -> Mounts:
        """The volumes a create asks for, checked."""
        if not requested:
            return []
        if self.volumes is None:
            raise BadRequest("volumes are not available on this server")
        return self.volumes.resolve_mounts(session, user, requested)

    def provision(self, sandbox_id: str) -> Sandbox:
        """Create and start the container of a recorded sandbox (state creating → started, or error).

        No database connection is held while Docker works: a burst of creates would otherwise queue on
        the connection pool (and every toolbox call behind them)."""
        with self.lock(sandbox_id):
            with self.db.session() as session:
                spec = self.spec(self.find(session, None, sandbox_id), session)
            member = self.pool.claimed(sandbox_id)
            try:
                container_id = self.pool.adopt(member, spec) if member is not None else None
                if container_id is None:
                    container_id = self.pool.create_cold(spec)
            except (RuntimeFailure, ImageNotFound) as exc:
                with self.db.session() as session:
                    self.fail(session, self.find(session, None, sandbox_id), f"create failed: {exc}")
                raise Internal(f"sandbox {sandbox_id} failed to start: {exc}") from None
            with self.db.session() as session:
                sandbox = self.find(session, None, sandbox_id)
                sandbox.container_id = container_id
                sandbox.state = State.STARTED
                sandbox.last_activity_at = utcnow()
                session.commit()
                # Its first toolbox call takes the hot path. Safe without the generation check: the
                # sandbox's lock is held, so nothing else changed it since this commit.
                self.db.cache.put_sandbox(self.db.cache.generation, sandbox)
                return sandbox

    def _build_then_provision(self, sandbox_id: str, user: User, dockerfile: str) -> None:
        """The job of a sandbox from a declarative image: build (or reuse) the image, then start the sandbox."""
        self.update(sandbox_id, state=State.BUILDING_SNAPSHOT)
        try:
            image = self.builder.build(user, dockerfile, build_log_key(sandbox_id))
        except ApiError as exc:
            self.update(sandbox_id, state=State.BUILD_FAILED, error_reason=f"build failed: {exc.message}")
            return
        except Exception as exc:  # a job has nobody to raise to: never leave the sandbox building
            log.exception("sandbox %s: build", sandbox_id)
            self.update(sandbox_id, state=State.BUILD_FAILED, error_reason=f"build failed: {exc}")
            return
        with self.lock(sandbox_id), self.db.session() as session:
            sandbox = session.get(Sandbox, sandbox_id)
            if sandbox is None or sandbox.state != State.BUILDING_SNAPSHOT:
                return  # deleted while it was being built
            sandbox.image, sandbox.image_ref, sandbox.state = image.name, image.engine_ref, State.CREATING
            session.commit()
        try:
            self.provision(sandbox_id)
        except ApiError as exc:
            log.warning("sandbox %s: %s", sandbox_id, exc.message)

    def fail(self, session: Session, sandbox: Sandbox, reason: str) -> None:
        log.warning("sandbox %s: %s", sandbox.id, reason)
        sandbox.state = State.ERROR
        sandbox.error_reason = reason
        sandbox.progress = None
        session.commit()

    # -- transitions -----------------------------------------------------------------------------

    def _begin(self, session: Session, user: User | None, sandbox_id: str, action: str) -> tuple[Sandbox, State]:
        sandbox = self.find(session, user, sandbox_id)
        try:
            during, after = transition(sandbox_id, sandbox.state, action)
        except IllegalTransition as exc:
            raise Conflict(str(exc)) from None
        sandbox.state = during
        session.commit()
        return sandbox, after

    def start(self, user: User | None, sandbox_id: str) -> Sandbox:
        """Start a stopped sandbox, or begin restoring an archived one (state restoring)."""
        with self.lock(sandbox_id), self.db.session() as session:
            sandbox = self.find(session, user, sandbox_id)
            if sandbox.state in (State.STOPPED, State.ARCHIVED, State.ERROR):
                owner = session.get(User, sandbox.owner_id)
                assert owner is not None
                quotas.check(
                    session, owner, sandbox_id, sandbox.cpu, sandbox.memory, sandbox.disk, new=False, gpu=sandbox.gpu
                )
            if sandbox.state == State.ARCHIVED or (
                sandbox.state == State.ERROR and sandbox.archive_key and not self.runtime.status(sandbox_id).exists
            ):
                if sandbox.state == State.ERROR:
                    sandbox.state = State.ARCHIVED  # a failed restore is tried again from its archive
                sandbox, _ = self._begin(session, user, sandbox_id, "restore")
                sandbox.progress = "restoring: queued"
                sandbox.error_reason = None
                session.commit()
                self.jobs.submit(self.archiver.restore, sandbox_id)
                return sandbox
            sandbox, after = self._begin(session, user, sandbox_id, "start")
            try:
                if not self.runtime.status(sandbox_id).exists:
                    raise RuntimeFailure("its container is gone and there is no archive to restore it from")
                self.runtime.start(sandbox_id)
            except RuntimeFailure as exc:
                self.fail(session, sandbox, f"start failed: {exc}")
                raise Internal(f"sandbox {sandbox_id} failed to start: {exc}") from None
            sandbox.state = after
            sandbox.error_reason = None
            sandbox.last_activity_at = utcnow()
            session.commit()
            return sandbox

    def stop(self, user: User | None, sandbox_id: str) -> Sandbox:
        with self.lock(sandbox_id), self.db.session() as session:
            sandbox, after = self._begin(session, user, sandbox_id, "stop")
            try:
                self.runtime.stop(sandbox_id)
            except RuntimeFailure as exc:
                self.fail(session, sandbox, f"stop failed: {exc}")
                raise Internal(f"sandbox {sandbox_id} failed to stop: {exc}") from None
            sandbox.state = after
            sandbox.error_reason = None
            sandbox.last_activity_at = utcnow()
            session.commit()
            return sandbox

    def archive(self, user: User | None, sandbox_id: str) -> Sandbox:
        """Begin moving a stopped sandbox's changes to object storage (state archiving)."""
        with self.lock(sandbox_id), self.db.session() as session:
            sandbox, _ = self._begin(session, user, sandbox_id, "archive")
            sandbox.progress = "archiving: queued"
            sandbox.error_reason = None
            session.commit()
        self.jobs.submit(self.archiver.archive, sandbox_id)
        return sandbox

    def resize(self, user: User, sandbox_id: str, cpu: int | None, memory: int | None, disk: int | None) -> Sandbox:
        with self.lock(sandbox_id), self.db.session() as session:
            current = self.find(session, user, sandbox_id)
            if disk is not None and disk != current.disk:
                raise BadRequest(
                    "disk cannot be changed after creation: create a new sandbox with the disk size you need"
                )
            sandbox, after = self._begin(session, user, sandbox_id, "resize")
            new_cpu, new_memory = cpu or sandbox.cpu, memory or sandbox.memory
            try:
                quotas.check(session, user, sandbox_id, new_cpu, new_memory, sandbox.disk, new=False, gpu=sandbox.gpu)
            except ApiError:
                sandbox.state = State.STOPPED
                session.commit()
                raise
            try:
                self.runtime.update_resources(sandbox_id, new_cpu, new_memory)
            except RuntimeFailure as exc:
                sandbox.state = State.STOPPED
                session.commit()
                raise Internal(f"sandbox {sandbox_id} could not be resized: {exc}") from None
            sandbox.cpu, sandbox.memory, sandbox.state = new_cpu, new_memory, after
            session.commit()
            return sandbox

    def delete(self, user: User | None, sandbox_id: str) -> Sandbox:
        """Remove the sandbox, its container and its archive; returns its last row (state destroyed)."""
        with self.lock(sandbox_id), self.db.session() as session:
            sandbox, _ = self._begin(session, user, sandbox_id, "destroy")
            try:
                self.runtime.remove(sandbox_id)
            except RuntimeFailure as exc:
                self.fail(session, sandbox, f"delete failed: {exc}")
                raise Internal(f"sandbox {sandbox_id} could not be deleted: {exc}") from None
            archive_key = sandbox.archive_key
            session.delete(sandbox)
            session.commit()
            sandbox.state = State.DESTROYED
        if sandbox.network_ip is not None:
            self._sync_network()
        if archive_key:
            try:
                self.store.delete(archive_key)
            except Exception as exc:  # the sandbox is gone; a leftover object is only a cost
                log.warning("sandbox %s: could not delete archive %s: %s", sandbox_id, archive_key, exc)
        self._locks.pop(sandbox_id, None)
        self.builder.logs.remove(build_log_key(sandbox_id))
        return sandbox

    # -- settings --------------------------------------------------------------------------------

    def set_fields(self, user: User, sandbox_id: str, **fields: Any) -> Sandbox:
        with self.db.session() as session:
            sandbox = self.find(session, user, sandbox_id)
            for name, value in fields.items():
                setattr(sandbox, name, value)
            session.commit()
            return sandbox

    def set_labels(self, user: User, sandbox_id: str, labels: dict[str, str]) -> Sandbox:
        return self.set_fields(user, sandbox_id, labels=dict(labels))

    def set_autostop(self, user: User, sandbox_id: str, minutes: int) -> Sandbox:
        if minutes < 0:
            raise BadRequest("auto-stop interval must be 0 (never) or a positive number of minutes")
        return self.set_fields(user, sandbox_id, auto_stop_interval=minutes, last_activity_at=utcnow())

    def set_autoarchive(self, user: User, sandbox_id: str, minutes: int) -> Sandbox:
        if minutes < 0:
            raise BadRequest("auto-archive interval must be 0 (never) or a positive number of minutes")
        return self.set_fields(user, sandbox_id, auto_archive_interval=minutes)

    def set_autodelete(self, user: User, sandbox_id: str, minutes: int) -> Sandbox:
        """Minutes after a stop before the sandbox is deleted: negative = never, 0 = as soon as it stops."""
        return self.set_fields(user, sandbox_id, auto_delete_interval=max(minutes, -1))

    def set_public(self, user: User, sandbox_id: str, public: bool) -> Sandbox:
        return self.set_fields(user, sandbox_id, public=public)

    def set_network(
        self,
        user: User,
        sandbox_id: str,
        block_all: bool | None,
        allow_list: str | None,
        domain_list: str | None,
    ) -> Sandbox:
        """Change the egress policy, in effect at once on a running sandbox (no restart)."""
        with self.lock(sandbox_id), self.db.session() as session:
            sandbox = self.find(session, user, sandbox_id)
            if block_all is None and allow_list is None and domain_list is None:
                raise BadRequest("give at least one of networkBlockAll, networkAllowList or domainAllowList")
            if sandbox.state in (State.DESTROYING, State.DESTROYED):
                raise Conflict(f"sandbox {sandbox_id} is {sandbox.state}")
            current = network_policy.from_row(
                sandbox.network_blocked,
                sandbox.network_allow_list,
                sandbox.domain_allow_list,
            )
            wanted = self.networks.check(block_all, allow_list, domain_list, current)
            sandbox.network_block_all = wanted.block_all
            sandbox.network_allow_list, sandbox.domain_allow_list = wanted.allow_list, wanted.domain_list
            if sandbox.network_ip is None and not wanted.block_all:  # made before it had a network
                with self._addresses:  # held for the allocation only, not while the policy is applied
                    sandbox.network_ip = self._free_address(session)
                    session.commit()
            else:
                session.commit()
            try:
                self.networks.apply(sandbox)
            except (RuntimeFailure, FirewallError) as exc:
                raise Internal(f"the network policy of sandbox {sandbox_id} is stored but not applied: {exc}") from None
            return sandbox

    def network_refused(self, sandbox: Sandbox) -> int:
        """Connections the sandbox tried and was refused, for its info."""
        return self.networks.refused(sandbox)

    def close(self) -> None:
        self.pool.close()
        self.jobs.shutdown(wait=False, cancel_futures=True)
