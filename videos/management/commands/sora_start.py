"""Start the whole product locally: site, django-q2 worker and (by default) the emulator."""
from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from videos import conf, roles

DEMO_USER = "admin"
DEMO_MEMBER = "member"


#: How long the banner waits for the site and the emulator to answer before it is printed anyway.
READY_WAIT = 60.0


def _answers(host: str, port: int) -> bool:
    """Whether something accepts connections on ``host:port`` (a wildcard host: this machine)."""
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class Command(BaseCommand):
    help = "Migrate, create a demo admin, and run the site, a qcluster and the local emulator until Ctrl-C."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=os.environ.get("SORA_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("SORA_PORT", "8000")))
        parser.add_argument(
            "--generation-time", type=float, default=15.0, help="Seconds the emulator takes per video (default 15)."
        )
        parser.add_argument("--no-emulator", action="store_true", help="Do not start the emulator.")

    def handle(self, *args: Any, **opts: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        roles.ensure_roles()
        login = self._demo_login(DEMO_USER, "demo-login.txt")
        member = self._demo_login(DEMO_MEMBER, "demo-member.txt")
        provider = conf.provider()
        children: list[tuple[str, subprocess.Popen]] = []
        listening = [(opts["host"], opts["port"])]  # what must answer before the banner says "running"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]

        if not _port_free(opts["host"], opts["port"]):
            raise CommandError(f"Port {opts['port']} is in use: stop what runs there, or pass --port N.")
        if provider.emulator and not opts["no_emulator"]:
            url = urlparse(provider.base_url)
            host, port = url.hostname or "127.0.0.1", url.port or 80
            if not _port_free(host, port):
                raise CommandError(
                    f"Port {port} for the emulator is in use: stop what runs there, or set SORA_EMULATOR_URL."
                )
            (Path(settings.VAR_DIR) / "emulator-url").write_text(provider.base_url + "\n")  # for later commands
            listening.append((host, port))
            children.append(("emulator", subprocess.Popen(
                [sys.executable, "-m", "videos.emulator", "--host", host, "--port", str(port),
                 "--dialect", provider.dialect, "--generation-time", str(opts["generation_time"]), "--quiet"],
                env=env,
            )))
        children.append(("worker", subprocess.Popen([*manage, "qcluster"], env=env)))
        children.append(("site", subprocess.Popen(
            [*manage, "runserver", f"{opts['host']}:{opts['port']}", "--noreload", "--skip-checks"], env=env
        )))

        site = f"http://{opts['host']}:{opts['port']}/"
        label = (
            f"the LOCAL EMULATOR at {provider.base_url} (dialect {provider.dialect}); set OPENAI_BASE_URL and "
            "OPENAI_API_KEY to use a real provider"
            if provider.emulator
            else f"{provider.display_name} at {provider.base_url}"
        )
        banner = self.style.SUCCESS(
            f"\n  Sora videos is running: {site}\n"
            f"  Admin:   {site}admin/   login {login} (superuser)\n"
            f"  Member:  {site}   login {member} (in {roles.MAKERS!r}: makes videos in the gallery)\n"
            f"  Videos:  generated through {label}\n"
            f"  Stop:    Ctrl-C\n"
        )
        self._supervise(children, listening, banner)

    def _demo_login(self, username: str, filename: str) -> str:
        """Create a demo account once (the superuser, or a member of "Video makers"); its
        password lives in var/<filename> (0600)."""
        path = Path(settings.VAR_DIR) / filename
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is not None and path.exists():
            return path.read_text().strip()
        password = secrets.token_urlsafe(12)
        if user is None and username == DEMO_USER:
            User.objects.create_superuser(username, email="", password=password)
        elif user is None:
            user = User.objects.create_user(username, password=password, first_name="Demo", last_name="Member")
            user.groups.add(Group.objects.get(name=roles.MAKERS))
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
        path.write_text(f"{username} / {password}\n")
        path.chmod(0o600)
        return f"{username} / {password}"

    def _announce_when_ready(self, waiting: list[tuple[str, int]], started: float,
                             banner: str) -> list[tuple[str, int]]:
        """What of ``waiting`` still does not answer; once nothing (or :data:`READY_WAIT` has
        passed, with a warning), ``banner`` is printed and nothing is left to wait for."""
        waiting = [(host, port) for host, port in waiting if not _answers(host, port)]
        if waiting and time.monotonic() - started <= READY_WAIT:
            return waiting
        if waiting:
            self.stdout.write(self.style.WARNING(
                f"  Nothing answers yet on {', '.join(f'{h}:{p}' for h, p in waiting)} after {READY_WAIT:.0f} s; "
                "this machine may be busy. The links below work once it does."))
        self.stdout.write(banner)
        return []

    def _supervise(self, children: list[tuple[str, subprocess.Popen]], listening: list[tuple[str, int]],
                   banner: str) -> None:
        """Print ``banner`` once everything in ``listening`` answers (a link that works when it is
        read), then run until Ctrl-C or until a child stops, which stops the others."""
        stopping = False
        waiting, started = list(listening), time.monotonic()

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        failed = None
        while not stopping:
            for name, proc in children:
                if proc.poll() is not None:
                    failed = (name, proc.returncode)
                    stopping = True
                    break
            if waiting and not stopping:
                waiting = self._announce_when_ready(waiting, started, banner)
            time.sleep(0.1 if waiting else 0.3)
        for _, proc in reversed(children):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _, proc in children:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
        if failed:
            raise CommandError(f"The {failed[0]} stopped unexpectedly (exit code {failed[1]}); everything was stopped.")
        self.stdout.write("Stopped the site, the worker and the emulator.")
