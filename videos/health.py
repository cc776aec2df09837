"""Can this installation do its work? The checks behind ``manage.py sora doctor`` and ``/healthz``.

Each check says in one line what it saw and, when it fails, what to do, without a secret
(URLs lose their user:password part; keys and webhook secrets are only said to be set or
not). ``doctor`` runs them all, writing a probe object to the storage; ``/healthz`` runs
them without that write and answers 503 only for what the web node itself needs (the
database, the broker, the storage): a provider or worker outage is reported in its JSON
but must not take the site out of a load balancer.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from . import capabilities, conf, queue, shutdown, storage
from .exceptions import ConfigurationError, ProviderError
from .models import Lease
from .providers import get_provider

log = logging.getLogger(__name__)

#: A worker notes here that it started and each scheduled sweep it runs; the minute schedule
#: makes one run at least every minute, so three minutes of silence means no worker runs.
WORKERS_LEASE = "workers:answered"
WORKERS_SILENT_AFTER = 180.0
PROVIDERS_CACHE_KEY = "sora-videos:health:providers"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    #: Whether ``/healthz`` answers 503 when this fails (what the web node itself needs).
    critical: bool = False

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def announce(proc_name: str) -> None:
    """A cluster worker's first line in the log: which cluster, broker and storage it works with."""
    cluster = getattr(settings, "Q_CLUSTER", {}).get("name", "")
    log.info("worker %s of cluster %r started: broker %s, storage %s, providers %s", proc_name or os.getpid(),
             cluster, queue.broker_name(), storage.where(), ", ".join(conf.providers()))


def worker_answered() -> None:
    """Called when a cluster worker starts and by the minute schedule's sweep: this host's
    workers are alive (not by every sweep: a burst of jobs kicks many)."""
    if not shutdown.in_worker():
        return  # a test, the CLI's --wait or a shell is not a worker
    expires = timezone.now() + dt.timedelta(seconds=WORKERS_SILENT_AFTER)
    Lease.objects.update_or_create(
        name=WORKERS_LEASE, defaults={"holder": f"{socket.gethostname()}:{os.getpid()}", "expires_at": expires}
    )


# --- the checks ------------------------------------------------------------------------
_migrated: set[str] = set()  # databases found fully migrated by this process


def database() -> Check:
    """Connected, and every migration applied. Reading the migration files is the costly part
    (a load balancer asks every few seconds), so a database found migrated is not read again."""
    alias = connection.alias
    try:
        connection.ensure_connection()
        unapplied = []
        if alias not in _migrated:
            executor = MigrationExecutor(connection)
            unapplied = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        return Check("database", False, f"cannot connect: {type(exc).__name__}: {exc}",
                     "Check DATABASE_URL and that the database server runs.", critical=True)
    vendor = f"{connection.vendor} database {connection.settings_dict.get('NAME')}"
    if unapplied:
        return Check("database", False, f"{vendor}: {len(unapplied)} migration(s) not applied",
                     "Run: python manage.py migrate", critical=True)
    _migrated.add(alias)
    return Check("database", True, f"{vendor}: connected, migrations applied", critical=True)


def broker() -> Check:
    from django_q.brokers import get_broker  # django-q2's modules need the app registry ready

    try:
        found = get_broker()
        waiting = found.queue_size()  # a round trip (LLEN on Redis, a count on the ORM broker)
        info = found.info()
    except Exception as exc:
        return Check("broker", False, f"{queue.broker_name()} cannot be reached: {type(exc).__name__}: {exc}",
                     "Start the broker (Redis: redis-server) or fix SORA_REDIS_URL; jobs created meanwhile "
                     "wait in the database and are submitted once it is back.", critical=True)
    return Check("broker", True, f"{info} at {queue.broker_name()}: answered; {waiting} task(s) waiting", critical=True)


def storage_check(*, write: bool) -> Check:
    """Write, read and delete a probe object (``write``), or only look that the place exists."""
    place = storage.where()
    fix = "Create the bucket (e.g. aws s3 mb s3://NAME) or fix SORA_S3_* / MEDIA_ROOT and the credentials."
    try:
        if write:
            store = storage.get_storage()
            key = f"{conf.get('STORAGE_PREFIX').strip('/')}/doctor/probe-{uuid.uuid4().hex}.txt"
            body = b"sora doctor probe"
            name = store.save(key, ContentFile(body))
            try:
                with store.open(name, "rb") as fh:
                    if fh.read() != body:
                        return Check("storage", False, f"{place}: the probe object read back differently", fix,
                                     critical=True)
            finally:
                store.delete(name)
            return Check("storage", True, f"{place}: wrote, read and deleted a probe object", critical=True)
        storage.look()
    except Exception as exc:
        return Check("storage", False, f"cannot use it: {storage.describe_error(exc)}", fix, critical=True)
    return Check("storage", True, f"{place}: reachable", critical=True)


def providers(*, ask_models: bool = True) -> list[Check]:
    return [provider_check(config, ask_models=ask_models) for config in conf.providers().values()]


def provider_check(config: conf.ProviderConfig, *, ask_models: bool = True) -> Check:
    """Reachable, key accepted (a one-item list), and what it can do. ``GET /models`` is asked
    (and learned) when ``ask_models`` or when the learned answer is due, as ``sora providers``
    does; a load balancer's probe does not rewrite it every time."""
    name = f"provider {config.name}"
    where = conf.safe_url(config.base_url)
    try:
        config.api_key()  # raises when the variable is missing
    except ConfigurationError as exc:
        return Check(name, False, str(exc), f"Set {config.api_key_env} in the environment or .env.")
    provider = get_provider(config.name)
    models: list[str] | None = None
    try:
        if ask_models or capabilities.models_due(config):
            models = capabilities.check_models(provider)
        else:
            models = capabilities.learned_models(config)
        provider.list_page(limit=1)
    except ProviderError as exc:
        if exc.status_code in (401, 403):
            return Check(name, False, f"{where} refused the key ({exc.status_code}): {exc}",
                         f"Check {config.api_key_env}: the server does not accept it.")
        if exc.status_code is None:
            start = ("Start the embedded emulator (bin/start, or python manage.py sora_emulator)" if config.emulator
                     else "Check the provider's BASE_URL and that its server runs")
            return Check(name, False, f"{where} cannot be reached: {exc}", f"{start}.")
        if not (exc.status_code in (400, 404, 405, 501) or exc.endpoint_missing):
            return Check(name, False, f"{where} answered {exc.status_code}: {exc}",
                         "See the provider's status page or logs; the sweep retries meanwhile.")
    can = [feature for feature, cap in capabilities.table(config).items() if cap.supported]
    served = ", ".join(models) if models else "not listed"
    return Check(name, True, f"{config.display_name} at {where} ({config.dialect}): key accepted; "
                 f"models {served}; can {', '.join(can) or 'create only'}")


def webhooks(base_url: str | None = None) -> list[Check]:
    """Per provider that may send webhooks: whether they are in use, and the URL it must call.

    Without the secret, webhooks are refused and status checks follow the jobs: a working
    setup either way, so this never fails; it says which one is in use.
    """
    checks = []
    for config in conf.providers().values():
        if not config.webhook_secret_env:
            continue
        try:
            path = reverse("videos:webhook", args=[config.name])
        except NoReverseMatch:
            path = f"<the app's URLs>/webhooks/{config.name}/"
        url = (base_url.rstrip("/") + path) if base_url else f"{path} on this site's public address"
        name = f"webhooks {config.name}"
        if not config.webhook_secret():
            checks.append(Check(name, True, f"not in use: {config.webhook_secret_env} is not set, so calls to {url} "
                                "are refused and jobs are followed by status checks; to use them, give the provider "
                                "that URL and set the variable to its signing secret"))
        else:
            checks.append(Check(name, True, f"secret set ({config.webhook_secret_env}); the provider must call {url}"))
    return checks


def cookies(scheme: str | None) -> Check:
    """Secure cookies are only sent over HTTPS: a login over plain HTTP fails with a CSRF 403."""
    secure = [name for name in ("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE") if getattr(settings, name, False)]
    fix = ("Serve the site over HTTPS (a proxy that ends TLS must send X-Forwarded-Proto: https), "
           "or for a plain-HTTP trial set DJANGO_SECURE_COOKIES=0.")
    if not secure:
        return Check("cookies", True, "secure cookies off: sign-in works over HTTP and HTTPS")
    if scheme == "http":
        return Check("cookies", False, f"{' and '.join(secure)} on, but the site is reached over plain HTTP: "
                     "sign-in will fail with a CSRF 403", fix)
    seen = f"reached over {scheme.upper()}" if scheme else "give --url to check the scheme it is reached by"
    return Check("cookies", True, f"{' and '.join(secure)} on; {seen}")


def workers() -> Check:
    lease = Lease.objects.filter(name=WORKERS_LEASE).first()
    now = timezone.now()
    if lease is None or lease.expires_at < now:
        when = f" (last: {lease.holder} at {_seen(lease):%Y-%m-%d %H:%M:%S})" if lease else ""
        return Check("workers", False, f"no worker has answered in the last {WORKERS_SILENT_AFTER / 60:.0f} minutes"
                     f"{when}", "Start one: python manage.py qcluster (see docs/deploy.md).")
    ago = (now - _seen(lease)).total_seconds()
    return Check("workers", True, f"a worker answered {ago:.0f} s ago ({lease.holder})")


def _seen(lease: Lease) -> dt.datetime:
    return lease.expires_at - dt.timedelta(seconds=WORKERS_SILENT_AFTER)


def run(*, write: bool = True, scheme: str | None = None, base_url: str | None = None,
        providers_for: float = 0) -> list[Check]:
    """Every check, in the order an operator fixes things. ``providers_for`` seconds, the
    providers' answers are reused (a load balancer asks every few seconds; they need not be)."""
    first = [database()]
    if not first[0].ok:
        return first  # everything else reads the database
    if providers_for:  # a load balancer: reuse the answers for a while, and the learned models
        asked = cache.get_or_set(PROVIDERS_CACHE_KEY, lambda: providers(ask_models=False), providers_for)
    else:
        asked = providers()
    return [*first, broker(), storage_check(write=write), workers(), *asked, *webhooks(base_url), cookies(scheme)]
