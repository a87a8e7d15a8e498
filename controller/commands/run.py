"""`run`: the long-lived service that keeps the account following the manifests.

Wires the real pieces (Clients, Reconciler, GitSource, Lease) into `controller.service.runner`,
then waits for SIGTERM/SIGINT and shuts down within `--shutdown-timeout`. Exit 0 when every
in-flight reconcile finished in time, 1 when some had to be abandoned.

The HTTP server binds 127.0.0.1 by default: /suspend, /resume and /hooks/git change behaviour,
so exposing them (`--http-host 0.0.0.0` in a container) is an explicit decision.
"""

from __future__ import annotations

import argparse
import signal
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from controller.commands import argtypes
from controller.commands.common import (
    add_aws_arguments,
    add_prune_arguments,
    git_revision,
    prune_options,
)
from controller.core.plan.outcomes import Outcome
from controller.errors import ControllerError, Diagnostic

# The service's modules (structlog, prometheus, the runner) load when `run` runs: the CLI
# registers this command's flags at every start, `--help` and `validate` included.
if TYPE_CHECKING:
    from controller.core import snapshots
    from controller.core.plan.plans import EndpointPlan
    from controller.reconcile import reconciling
    from controller.service.metrics import Metrics
    from controller.service.notifications.delivery import Notifier
    from controller.service.ports import ElectorFactory, ShardElectorFactory, Source
    from controller.service.runner import Runner, RunnerConfig


def register(sub: Any) -> None:
    parser = sub.add_parser("run", help="long-lived service: watch manifests and converge")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("-m", "--manifests", type=Path, metavar="DIR", help="watch a directory")
    where.add_argument("--repo", metavar="URL", help="follow a branch of a git repository")
    parser.add_argument("--branch", default="main", help="with --repo (default: %(default)s)")
    parser.add_argument("--path", default=".", help="manifest folder inside the repository")
    parser.add_argument("--workdir", type=Path, help="where --repo is checked out (default: temp)")
    _number(parser, "--poll-interval", 60.0, "seconds between git fetches (with --repo)")
    _number(parser, "--resync-interval", 300.0, "seconds between full resyncs (drift, registry)")
    _number(parser, "--shutdown-timeout", 30.0, "seconds in-flight reconciles get on shutdown")
    parser.add_argument(
        "--concurrency",
        type=argtypes.concurrency,
        default=8,
        help="endpoints reconciled at once, plus one worker kept for manifest edits so an "
        "edit never waits for a resync's reconciles (default: 8)",
    )
    parser.add_argument(
        "--http-host", default="127.0.0.1", help="bind address (default: %(default)s)"
    )
    parser.add_argument(
        "--http-port",
        type=argtypes.port,
        default=8080,
        help="probes, /metrics, /status; 0 = any free port",
    )
    parser.add_argument("--lease-table", help="DynamoDB table for leader election (HA replicas)")
    parser.add_argument("--lease-name", default="sagemaker-gitops", help="lease item name")
    _number(parser, "--lease-duration", 15.0, "seconds a leader's lease lasts without renewal")
    parser.add_argument(
        "--shard-by",
        choices=("none", "location"),
        default="none",
        help="with --lease-table: 'location' spreads the targets (regions, without targets) over "
        "the live replicas, one lease per shard, so N replicas reconcile N parts of the fleet; "
        "'none' keeps one leader and idle standbys (default: %(default)s)",
    )
    _number(parser, "--requeue-interval", 15.0, "seconds before a changing endpoint is rechecked")
    parser.add_argument("--deploy-windows", type=Path, metavar="FILE", help="YAML deploy windows")
    parser.add_argument(
        "--webhook-secret-file", type=Path, metavar="FILE", help="enables POST /hooks/git"
    )
    parser.add_argument(
        "--control-token-file",
        type=Path,
        metavar="FILE",
        help="POST /suspend and /resume then need Authorization: Bearer <the file's token>",
    )
    parser.add_argument(
        "--prune", action="store_true", help="delete owned endpoints whose manifests are gone"
    )
    parser.add_argument(
        "--prune-grace",
        type=argtypes.non_negative_seconds,
        default=120.0,
        help="seconds a manifest must stay gone before --prune deletes its endpoint (default: 120)",
    )
    add_prune_arguments(parser)
    parser.add_argument(
        "--promote",
        action="store_true",
        help="with --repo: verify pipeline stages on their live metrics, record verdicts in the "
        "Model Registry and write promotions and reverts to git (commits or pull requests; "
        "docs/stages.md). Only the lease holder promotes",
    )
    _number(parser, "--promote-interval", 30.0, "seconds between promotion passes")
    parser.add_argument(
        "--github-token-file",
        type=Path,
        metavar="FILE",
        help="token for pull requests a stage writes (else $GITHUB_TOKEN); never logged",
    )
    parser.add_argument(
        "--github-api-url",
        default="https://api.github.com",
        help="GitHub (Enterprise) API for pull requests (default: %(default)s)",
    )
    parser.add_argument(
        "--github-repo",
        metavar="OWNER/NAME",
        help="the repository pull requests are opened on (default: from --repo)",
    )
    parser.add_argument(
        "--gitlab-token-file",
        type=Path,
        metavar="FILE",
        help="token for merge requests on GitLab instead (else $GITLAB_TOKEN); never logged",
    )
    parser.add_argument(
        "--gitlab-api-url",
        default="https://gitlab.com/api/v4",
        help="GitLab API for merge requests (default: %(default)s)",
    )
    parser.add_argument(
        "--gitlab-project",
        metavar="GROUP/NAME",
        help="the project merge requests are opened on (default: from a gitlab.com --repo)",
    )
    parser.add_argument(
        "--notifications",
        type=Path,
        metavar="FILE",
        help="YAML: Slack, webhook and GitHub commit-status sinks (docs/notifications.md)",
    )
    add_aws_arguments(parser)
    parser.set_defaults(func=run)


def _number(parser: argparse.ArgumentParser, flag: str, default: float, what: str) -> None:
    parser.add_argument(
        flag, type=argtypes.positive_seconds, default=default, help=f"{what} (default: {default:g})"
    )


def run(args: argparse.Namespace) -> int:
    import structlog

    from controller.service import memory, tracing

    log = structlog.get_logger(__name__)
    memory.limit_arenas()  # before any thread starts: see controller/service/memory.py
    config = _config(args)
    runner = build_runner(args, config)
    tracing.setup_from_env()  # OTEL_EXPORTER_OTLP_ENDPOINT and the [otel] extra: spans
    stop = threading.Event()
    previous = _on_signals(lambda: stop.set())
    try:
        try:
            runner.start()
        except OSError as e:
            raise ControllerError(f"cannot listen on {args.http_host}:{args.http_port}: {e}") from e
        log.info("running", http_port=runner.http_port, source=args.repo or str(args.manifests))
        while not stop.wait(1.0):
            pass
        log.info("shutting down", timeout=config.shutdown_timeout)
        return 0 if runner.stop() else 1
    finally:
        _restore_signals(previous)


def _config(args: argparse.Namespace) -> RunnerConfig:
    from controller.service.runner import RunnerConfig

    for flag in (
        "poll_interval",
        "resync_interval",
        "shutdown_timeout",
        "lease_duration",
        "requeue_interval",
    ):
        if getattr(args, flag) <= 0:
            raise ControllerError(f"--{flag.replace('_', '-')} must be positive")
    if args.concurrency < 1:
        raise ControllerError("--concurrency must be at least 1")
    if args.manifests is not None and not args.manifests.is_dir():
        raise ControllerError(f"{args.manifests}: not a directory")
    return RunnerConfig(
        manifests=args.manifests,
        resync_interval=args.resync_interval,
        poll_interval=args.poll_interval,
        concurrency=args.concurrency,
        shutdown_timeout=args.shutdown_timeout,
        http_host=args.http_host,
        http_port=args.http_port,
        webhook_secret=_secret(args.webhook_secret_file, "--webhook-secret-file"),
        control_token=_secret(args.control_token_file, "--control-token-file"),
    )


def _secret(path: Path | None, flag: str) -> bytes | None:
    if path is None:
        return None
    try:
        secret = path.read_bytes().strip()
    except OSError as e:
        raise ControllerError(f"{flag}: {e}") from e
    if not secret:
        raise ControllerError(f"{flag} {path}: the file is empty")
    return secret


def build_runner(args: argparse.Namespace, config: RunnerConfig) -> Runner[_Identified]:
    """The production wiring; the lead's end-to-end tests can call this with parsed args."""
    from controller.aws.clients import AwsOptions, Clients
    from controller.reconcile.reconciling import ReconcileOptions, Reconciler
    from controller.service.metrics import Metrics
    from controller.service.runner import Runner
    from controller.service.windows import WindowPolicy, load_windows

    windows = load_windows(args.deploy_windows) if args.deploy_windows else WindowPolicy()
    clients = Clients(
        AwsOptions(region=args.region, profile=args.profile, calls_per_second=args.calls_per_second)
    )
    metrics = Metrics()
    clients.observers.append(metrics.observe_api_call)
    clients.retry_observers.append(metrics.observe_retry)
    from controller.commands import scoping
    from controller.service.confirming import ConfirmedRemoval

    if args.scope:
        scope = scoping.explicit(args.scope)
    elif args.repo:
        scope = scoping.of_repo(args.repo, args.path)
    else:
        scope = scoping.of_path(args.manifests)
    # Safety: deletes wait for a confirmed absence (--prune-grace) and obey the scope and guards.
    reconciler = ConfirmedRemoval(
        _ServiceReconciler(
            Reconciler(
                clients,
                ReconcileOptions(
                    controller_id=args.controller_id,
                    prune=args.prune,
                    requeue_seconds=args.requeue_interval,
                    **prune_options(args, scope),
                ),
            )
        ),
        grace=args.prune_grace,
    )
    # Sharded, every shard has a lease of its own; else one lease (or none) for the whole fleet.
    shard_factory = _shards(args, clients)
    factory, leader_check = (None, None) if shard_factory else _election(args, clients)
    notifier = _notifier(args.notifications, metrics)
    runner = Runner(
        reconciler,
        config,
        source=_source(args),
        windows=windows,
        elector_factory=factory,
        leader_check=leader_check,
        metrics=metrics,
        revision_of=_HeadRevision() if args.manifests is not None else None,
        notifier=notifier,
        render_plan=_plan_text,
        shard_factory=shard_factory,
    )
    if args.promote:
        runner.companions.add(_promoter(args, runner, clients, windows, metrics, notifier))
    return runner


def _promoter(
    args: argparse.Namespace,
    runner: Runner[_Identified],
    clients: Any,
    windows: Any,
    metrics: Metrics,
    notifier: Notifier | None,
) -> Any:
    """`--promote`: the promoter, writing to the branch `run` follows."""
    from controller.promotion.gitwriting import GitWriter
    from controller.promotion.reading import ClientsReader
    from controller.service.promoting.advancing import Advancer
    from controller.service.promoting.promoter import Promoter

    if args.repo is None:
        raise ControllerError("--promote needs --repo: promotions are written to git and pushed")
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="sagemaker-gitops-"))) / "promote"
    writer = GitWriter(
        args.repo, branch=args.branch, path=args.path, workdir=workdir, pulls=_pulls(args)
    )
    advancer = Advancer(clients.sagemaker, ClientsReader(clients), writer, windows=windows)

    def snapshot() -> Any:
        current = runner.state.snapshot  # one reference read: the newest load, whole
        return current.inner if current is not None else None

    ownership = runner.leadership.ownership
    promoter = Promoter(
        advancer,
        snapshot,
        interval=args.promote_interval,
        leading=lambda: runner.state.leading,
        owns=ownership.owns,
        metrics=metrics,
        notify=notifier.submit if notifier is not None else None,
    )
    advancer.emit = promoter.emit  # stage events become metrics and notifications
    return promoter


def _pulls(args: argparse.Namespace) -> Any:
    """The forge's request client when a token is at hand (stages writing commits need none):
    GitLab merge requests when GitLab is named (a token file, a project, a gitlab.com --repo),
    else GitHub pull requests."""
    from controller.promotion.pullrequests import (
        MergeRequests,
        PullRequests,
        project_of,
        repository_of,
    )

    project = args.gitlab_project or project_of(args.repo)
    if args.gitlab_token_file is not None or project is not None:
        if args.github_token_file is not None:
            raise ControllerError("give a GitHub or a GitLab token, not both")
        token = _token(args.gitlab_token_file, "--gitlab-token-file", "GITLAB_TOKEN")
        if not token:
            return None
        if project is None:
            raise ControllerError(
                f"--gitlab-project GROUP/NAME: {args.repo} is not a gitlab.com URL, so merge "
                "requests need the project named"
            )
        return MergeRequests(args.gitlab_api_url, project, token)
    token = _token(args.github_token_file, "--github-token-file", "GITHUB_TOKEN")
    if not token:
        return None
    repository = args.github_repo or repository_of(args.repo)
    if repository is None:
        raise ControllerError(
            f"--github-repo OWNER/NAME: {args.repo} is not a github.com URL, so pull requests "
            "need the repository named"
        )
    return PullRequests(args.github_api_url, repository, token)


def _token(path: Path | None, flag: str, variable: str) -> str:
    """A token from its file, else from the environment ('' when neither)."""
    import os

    if path is not None:
        secret = _secret(path, flag)
        return secret.decode().strip() if secret else ""
    return os.environ.get(variable, "").strip()


class _HeadRevision:
    """The git HEAD of the watched directory, asked of git only when it can have moved.

    Every reload records the revision; a `git rev-parse` per edit cost more than reading the
    edited file. No subprocess at all when no ``.git`` is above the directory; in a repository,
    git is asked again whenever HEAD, its reflog, the branch ref or packed-refs changed on disk
    (every commit, checkout, pull or reset writes one of them).
    """

    def __init__(self) -> None:
        self._stamp: tuple[object, ...] | None = None
        self._sha: str | None = None

    def __call__(self, root: Path) -> str | None:
        dotgit = _dotgit(root.resolve())
        if dotgit is None:
            return None
        stamp = _stamp(dotgit)
        if stamp is None or stamp != self._stamp:
            self._sha = git_revision(root)
            self._stamp = stamp
        return self._sha


def _dotgit(folder: Path) -> Path | None:
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate / ".git"
    return None


def _stamp(dotgit: Path) -> tuple[object, ...] | None:
    """What changes on disk when HEAD moves; None when it cannot be told (a worktree's .git
    file, no reflog): then git is asked every time."""
    head = dotgit / "HEAD"
    try:
        ref = head.read_text().strip().removeprefix("ref: ")
        files = (head, dotgit / "logs" / "HEAD", dotgit / ref, dotgit / "packed-refs")
        return tuple(_file_stamp(f) for f in files)
    except OSError:
        return None


def _file_stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _plan_text(plan: EndpointPlan) -> str:
    """One endpoint's last plan as `plan` prints it, for the status page's detail view."""
    from controller.core.plan.plans import Plan
    from controller.rendering.text import render_text

    return render_text(Plan(endpoints=(plan,)))


def _notifier(path: Path | None, metrics: Metrics) -> Notifier | None:
    """Loaded before anything starts, so a bad file stops `run` with its `file:line:` errors."""
    if path is None:
        return None
    from controller.service.notifications.config import load_notifications
    from controller.service.notifications.delivery import Notifier

    return Notifier(load_notifications(path), observe=metrics.observe_notification)


def _source(args: argparse.Namespace) -> Source | None:
    if args.repo is None:
        return None
    from controller.service.inputs.gitsource import GitSource

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="sagemaker-gitops-"))
    return GitSource(args.repo, branch=args.branch, path=args.path, workdir=workdir)


def _election(
    args: argparse.Namespace, clients: Any
) -> tuple[ElectorFactory | None, Callable[[], bool] | None]:
    """Without --lease-table this replica always leads; with it, only the lease holder applies."""
    if not args.lease_table:
        return None, None
    from controller.service.lease import LeaderElector, Lease

    lease = Lease(
        clients.client("dynamodb"),
        args.lease_table,
        name=args.lease_name,
        duration=args.lease_duration,
    )
    lease.ensure_table()

    def factory(started: Callable[[], None], stopped: Callable[[], None]) -> LeaderElector:
        return LeaderElector(lease, on_started_leading=started, on_stopped_leading=stopped)

    # Checked right before every reconcile: the lease may lapse between callbacks.
    return factory, lease.is_leader


def _shards(args: argparse.Namespace, clients: Any) -> ShardElectorFactory | None:
    """`--shard-by location`: one lease per target (or region) in the lease table."""
    if args.shard_by == "none":
        return None
    if not args.lease_table:
        raise ControllerError("--shard-by location needs --lease-table: shard leases live there")
    from controller.service.lease import Lease, default_holder
    from controller.service.ports import ShardHooks
    from controller.service.sharding.elector import ShardElector

    dynamodb = clients.client("dynamodb")
    Lease(dynamodb, args.lease_table, name=args.lease_name).ensure_table()
    replica = default_holder()

    def factory(hooks: ShardHooks) -> ShardElector:
        return ShardElector(
            dynamodb,
            args.lease_table,
            hooks,
            name=args.lease_name,
            replica=replica,
            duration=args.lease_duration,
        )

    return factory


def _on_signals(handler: Callable[[], None]) -> dict[int, Any]:
    previous: dict[int, Any] = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, lambda *_: handler())
    return previous


def _restore_signals(previous: dict[int, Any]) -> None:
    for signum, old in previous.items():
        signal.signal(signum, old)


class _Identified:
    """A `controller.core.snapshots.Snapshot` with the endpoint name and labels the service needs.

    Deploy windows select endpoints by name and labels before the first reconcile; the core
    snapshot exposes them only through its manifest entries.

    Fingerprints are kept: the runner compares every key's with the last snapshot's on each
    load, and hashing a thousand manifests per edit cost more than the edit. An entry the parse
    cache handed over unchanged (the same object, deployed through the same target object) has
    the fingerprint the previous snapshot computed.
    """

    def __init__(self, inner: snapshots.Snapshot, previous: _Identified | None = None) -> None:
        self.inner = inner
        self._previous = previous.inner if previous is not None else None
        self._kept = previous._fingerprints if previous is not None else {}
        self._fingerprints: dict[str, str | None] = {}

    @property
    def revision(self) -> str | None:
        return self.inner.revision

    @property
    def ok(self) -> bool:
        return self.inner.ok

    @property
    def diagnostics(self) -> Sequence[Diagnostic]:
        return self.inner.diagnostics

    def keys(self) -> list[str]:
        return self.inner.keys()

    def fingerprint(self, key: str) -> str | None:
        if key in self._fingerprints:
            return self._fingerprints[key]
        found = self._kept.get(key) if self._same_input(key) else None
        if found is None:
            found = self.inner.fingerprint(key)
        self._fingerprints[key] = found
        return found

    def _same_input(self, key: str) -> bool:
        from controller.core.snapshots import split_key

        old = self._previous
        if old is None or old.entry(key) is not self.inner.entry(key):
            return False
        region = split_key(key)[0]
        return old.targets.get(region) is self.inner.targets.get(region)

    def suspended(self, key: str) -> bool:
        return self.inner.suspended(key)

    def name(self, key: str) -> str:
        from controller.core.snapshots import split_key

        return split_key(key)[1]

    def labels(self, key: str) -> Mapping[str, str]:
        entry = self.inner.entry(key)
        return dict(entry.manifest.metadata.labels) if entry is not None else {}

    def target_region(self, key: str) -> str | None:
        """The region of the key's target (statuses.Located: /status and metrics show it)."""
        from controller.core.snapshots import split_key

        target = self.inner.targets.get(split_key(key)[0])
        return target.region if target is not None else None

    def project(self, key: str) -> str | None:
        """The endpoint's project (statuses.Projected: /status, metrics, the status page)."""
        from controller.core.plan.projects import project_name

        entry = self.inner.entry(key)
        return project_name(self.inner.config, entry.source) if entry is not None else None

    def weights(self, key: str) -> Mapping[str, float]:
        """Desired traffic weight per variant (statuses.Weighted: the status page shows it)."""
        entry = self.inner.entry(key)
        variants = entry.manifest.spec.variants if entry is not None else []
        return {v.name: v.initial_weight for v in variants}


class _ServiceReconciler:
    """The core Reconciler as `service.ports.Reconciler`.

    It remembers every region the manifests have named since start, so an endpoint whose
    manifest was removed is found even when it was the last one in its region.
    """

    def __init__(self, inner: reconciling.Reconciler) -> None:
        self.inner = inner
        self._regions: set[str] = set()
        self._last: _Identified | None = None

    def load(
        self, root: Path, revision: str | None, *, changed: frozenset[str] | None = None
    ) -> _Identified:
        snapshot = self.inner.load(root, revision, changed=changed)
        self._regions |= snapshot.regions()
        self._last = _Identified(snapshot, self._last)
        return self._last

    def begin_pass(self) -> None:
        self.inner.begin_pass()

    def owned_keys(self, only: Callable[[str], bool] | None = None) -> set[str]:
        return self.inner.owned_keys(set(self._regions) or None, only)

    def removal_locations(self) -> set[str]:
        return self.inner.removal_locations(set(self._regions) or None)

    def reconcile(self, snapshot: _Identified, key: str, *, apply: bool) -> Outcome:
        return self.inner.reconcile(snapshot.inner, key, apply=apply)
