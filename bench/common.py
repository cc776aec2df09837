"""What every benchmark needs: temp databases, the emulator, a qcluster, a site, tables, results.md.

Nothing here touches ``var/``: each run gets its own temp directory (media, var dir, SQLite
file) or its own PostgreSQL database (``bench_<hex>``, dropped at the end) and its own
django-q2 queue name, so benchmarks can run beside the test suite and other developers.

Django is never set up in the benchmark process itself (each variant may use another
database); code that needs it runs in a child process through :func:`django_call`.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import json
import math
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PY = sys.executable
RESULTS = ROOT / "bench" / "results.md"
QUICK_RESULTS = ROOT / "bench" / "out" / "results-quick.md"  # bench/out/ is ignored by git
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PROVIDER = "bench"  # the provider name every benchmark configures
RESULT_MARK = "BENCH-RESULT: "


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- numbers and tables ---------------------------------------------------------------------
def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (p in 0..100); nan for no values."""
    data = sorted(values)
    if not data:
        return math.nan
    k = (len(data) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def fmt(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (numbers right-aligned), readable on a terminal too."""
    cells = [[str(h) for h in headers]] + [[fmt(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [all(re.fullmatch(r"[-+]?[\d,.]+( ?[%x×])?|–", row[i]) for row in cells[1:]) and len(cells) > 1
               for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "| " + " | ".join(c.rjust(w) if n else c.ljust(w) for c, w, n in zip(row, widths, numeric)) + " |"

    sep = "|" + "|".join(("-" * (w + 1) + ":") if n else ("-" * (w + 2)) for w, n in zip(widths, numeric)) + "|"
    return "\n".join([line(cells[0]), sep, *(line(r) for r in cells[1:])])


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**NOT met**"


# --- results.md -------------------------------------------------------------------------------
def _markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"


def section_text(name: str, body: str) -> str:
    start, end = _markers(name)
    return f"{start}\n{body.strip()}\n{end}"


def write_section(name: str, body: str, path: Path = RESULTS) -> None:
    """Replace this benchmark's section of ``path`` (between its markers), or append it; then the
    summary at the top, if there is one, lists every section's verdicts again (so one benchmark
    run on its own leaves no stale verdict above)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text() if path.exists() else header_text() + "\n"
    text = _replace_block(text, name, section_text(name, body))
    start, _ = _markers("summary")
    if start in text:
        text = _replace_block(text, "summary", section_text("summary", summary_body(verdict_lines(text))))
    path.write_text(text)


def _replace_block(text: str, name: str, block: str) -> str:
    start, end = _markers(name)
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    return pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"


def verdict_lines(text: str) -> list[str]:
    """The goal lines (``- ...: **met**`` / ``**NOT met**``) of every section but the summary, in order."""
    start, end = _markers("summary")
    text = re.sub(re.escape(start) + r".*?" + re.escape(end), "", text, flags=re.S)
    return [line for line in text.splitlines()
            if line.startswith("- ") and line.endswith((verdict(True), verdict(False)))]


def goal_lines(goals: list[tuple[str, bool]]) -> list[str]:
    """The goal lines a section lists under its table (and :func:`verdict_lines` reads back)."""
    return [f"- {name}: {verdict(ok)}" for name, ok in goals]


def summary_body(lines: list[str]) -> str:
    return "## Goals\n\n" + ("\n".join(lines) or "- (no goals checked)")


def write_all(sections: list[tuple[str, str]], path: Path = RESULTS, note: str = "") -> None:
    """Rewrite ``path`` as a whole: the header, then every section in order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    parts = [header_text(note)] + [section_text(name, body) for name, body in sections]
    path.write_text("\n\n".join(parts) + "\n")


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return "?"


def _cmd(args: list[str]) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:
        return ""


def machine() -> dict[str, str]:
    mem_kb = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import sqlite3

    pg = _cmd(["psql", POSTGRES_URL, "-Atc", "show server_version"]) or "not reachable"
    redis = ""
    with contextlib.suppress(Exception):
        import redis as redis_lib

        redis = redis_lib.Redis.from_url(REDIS_URL, socket_timeout=2).info("server")["redis_version"]
    return {
        "cores": str(os.cpu_count()),
        "ram": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "cpu": cpu or platform.processor() or "?",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "django": _version("Django"),
        "django-q2": _version("django-q2"),
        "openai": _version("openai"),
        "httpx2": _version("httpx2"),
        "av": _version("av"),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg.split()[0] if pg else "?",
        "redis": redis or "not reachable",
        "commit": _commit(),
    }


def _commit() -> str:
    return _cmd(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]) or "?"


def _now() -> str:
    return dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")


def header_text(note: str = "") -> str:
    m = machine()
    lines = [
        "# Benchmark results",
        "",
        "Written by `bench/run_all.py` (each `bench/bench_*.py` rewrites only its own section). "
        "How to run and read these: `docs/benchmarks.md`.",
        "",
        f"- Date: {_now()}, commit {m['commit']} (a section "
        "run again on its own says when and at which commit in its last line)",
        f"- Machine: {m['cores']} cores ({m['cpu']}), {m['ram']} RAM, {m['os']}",
        f"- Python {m['python']}, Django {m['django']}, django-q2 {m['django-q2']}, openai {m['openai']} "
        f"(httpx2 {m['httpx2']}), PyAV {m['av']}",
        f"- SQLite {m['sqlite']}, PostgreSQL {m['postgresql']}, Redis {m['redis']}",
    ]
    if note:
        lines += ["", note]
    return "\n".join(lines)


# --- places ------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30.0, proc: "Service | None" = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{proc.name} exited before listening:\n{proc.tail()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


@contextlib.contextmanager
def workdir(prefix: str = "sora-bench-") -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return True
    except Exception:
        return False


def redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping())
    except Exception:
        return False


def migrate(url: str, where: Path) -> None:
    env = site_env(where, url, {})
    subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)


_template: Path | None = None


def _sqlite_template() -> Path:
    """An empty, migrated SQLite database for this process (removed at exit)."""
    global _template
    if _template is None:
        import atexit

        folder = Path(tempfile.mkdtemp(prefix="sora-bench-template-"))
        atexit.register(shutil.rmtree, folder, True)
        path = folder / "template.sqlite3"
        migrate(f"sqlite:///{path}", folder)
        with contextlib.closing(__import__("sqlite3").connect(path)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file, so a copy is whole
        _template = path
    return _template


@contextlib.contextmanager
def database(kind: str, where: Path) -> Iterator[str]:
    """A migrated, empty database of ``kind`` (``sqlite`` or ``postgres``); its URL. Removed afterwards."""
    if kind == "sqlite":
        path = where / f"bench-{uuid.uuid4().hex[:8]}.sqlite3"
        url = f"sqlite:///{path}"
        shutil.copyfile(_sqlite_template(), path)  # migrated once per process, copied for each run
        try:
            yield url
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    if kind != "postgres":
        raise ValueError(kind)
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    try:
        migrate(url, where)
        yield url
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drop_redis_queue(q_name: str) -> None:
    """Remove the keys django-q2 kept for ``q_name`` (its queue list and stats)."""
    with contextlib.suppress(Exception):
        import redis

        r = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
        keys = list(r.scan_iter(f"django_q:{q_name}*"))
        if keys:
            r.delete(*keys)


# --- settings and environment -------------------------------------------------------------------
def sora_options(base_url: str, *, webhooks: bool = False, **options: Any) -> dict[str, Any]:
    """SORA_VIDEOS_JSON for one provider ``bench`` at ``base_url``: limits high, defaults otherwise."""
    provider: dict[str, Any] = {
        "BASE_URL": base_url,
        "API_KEY_ENV": "BENCH_API_KEY",  # unset: the emulator key
        "EMULATOR": True,
        "DIALECT": "openai",
        "MAX_IN_FLIGHT": 100_000,
        "CREATES_PER_MINUTE": 100_000,
        "LABEL": "Emulator (bench)",
    }
    if webhooks:
        provider["WEBHOOK_SECRET_ENV"] = "BENCH_WEBHOOK_SECRET"
    return {"PROVIDERS": {PROVIDER: provider}, "DEFAULT_PROVIDER": PROVIDER, **options}


def webhook_secret() -> str:
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def site_env(where: Path, db_url: str, sora: dict[str, Any], *, redis: bool = False, workers: int = 2,
             q_name: str | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every process of one run: site, qcluster and Django children."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SORA_", "DJANGO_", "DATABASE_"))}
    (where / "var").mkdir(parents=True, exist_ok=True)
    env.update({
        "DJANGO_SETTINGS_MODULE": "sora_project.settings",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": db_url,
        "DJANGO_MEDIA_ROOT": str(where / "media"),
        "SORA_VAR_DIR": str(where / "var"),
        "DJANGO_STATIC_ROOT": str(where / "var" / "static"),
        "DJANGO_DEBUG": "0",  # as deployed: no query log, no debug pages
        "DJANGO_SECRET_KEY": "bench-" + secrets.token_urlsafe(32),
        "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1,testserver",
        "SORA_VIDEOS_JSON": json.dumps(sora),
        "SORA_Q_WORKERS": str(workers),
        "SORA_Q_NAME": q_name or f"bench-{uuid.uuid4().hex[:8]}",
        "SORA_LOG_LEVEL": "WARNING",
    })
    if redis:
        env["SORA_REDIS_URL"] = REDIS_URL
    env.update(extra or {})
    return env


# --- processes ------------------------------------------------------------------------------------
class Service:
    """A long-running subprocess in its own session, output to a log file in the run's directory."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], where: Path) -> None:
        self.name, self.args, self.env = name, args, env
        self.log_path = where / f"{name}-{uuid.uuid4().hex[:6]}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Service":
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, chars: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text()[-chars:]
        return ""

    def stop(self, grace: float = 8.0) -> None:
        """SIGTERM (the cluster stops its workers), then SIGKILL whatever of its group is left."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(grace)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # the group this Service started, nothing else
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        self._log.close()
        self.proc = None

    def __enter__(self) -> "Service":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def cluster(env: dict[str, str], where: Path, name: str = "qcluster") -> Service:
    """``manage.py qcluster`` with the run's settings (SORA_Q_WORKERS workers)."""
    return Service(name, [PY, "manage.py", "qcluster"], env, where)


def site(env: dict[str, str], where: Path, port: int, workers: int = 2) -> Service:
    """The project's WSGI app under gunicorn on 127.0.0.1:``port``."""
    return Service("site", [PY, "-m", "gunicorn", "sora_project.wsgi:application", "--bind", f"127.0.0.1:{port}",
                            "--workers", str(workers), "--log-level", "warning"], env, where)


def emulator(**options: Any):  # type: ignore[no-untyped-def]
    """An :class:`~videos.emulator.testing.EmulatorProcess` (not started)."""
    from videos.emulator.testing import EmulatorProcess

    return EmulatorProcess(**options)


def django_call(env: dict[str, str], target: str, *, call_timeout: float | None = None, django: bool = True,
                **kwargs: Any) -> Any:
    """Run ``module:function(**kwargs)`` in a fresh process (Django set up under ``env`` unless
    ``django=False``) and return its JSON result. The child's stderr goes to ours."""
    mode = "call" if django else "call-plain"
    proc = subprocess.run([PY, "-m", "bench.common", mode, target, json.dumps(kwargs)], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, text=True, timeout=call_timeout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{target} failed (exit {proc.returncode}); stdout tail:\n{proc.stdout[-2000:]}")
    return json.loads(lines[-1][len(RESULT_MARK):])


def _child(target: str, kwargs: str, django: bool) -> None:
    if django:
        import logging

        import django as django_lib

        django_lib.setup()
        logging.getLogger("django-q").setLevel(logging.WARNING)  # not one "Enqueued" line per task
    module, _, func = target.partition(":")
    result = getattr(importlib.import_module(module), func)(**json.loads(kwargs))
    print(RESULT_MARK + json.dumps(result, default=str), flush=True)


SIZE, SECONDS, MODEL = "720x1280", 4, "sora-2"  # the cheapest clip the emulator's sora-2 renders
PROMPT = "Bench shot {i}: a grey heron wading through a misty lake at dawn, slow pan"


def child_create_and_wait(n: int, timeout: float) -> dict[str, Any]:
    """(Django child) Create ``n`` jobs as the admin and CLI do, wait until none is active, report each."""
    from videos import services
    from videos.models import JobStatus, VideoJob

    started = time.time()
    for i in range(n):
        services.create_video(PROMPT.format(i=i), model=MODEL, size=SIZE, seconds=SECONDS)
    created = time.time()
    deadline = time.monotonic() + timeout
    while VideoJob.objects.filter(status__in=JobStatus.active()).exists() and time.monotonic() < deadline:
        time.sleep(0.25)

    def ts(value: Any) -> float | None:
        return value.timestamp() if value else None

    jobs = [
        {"remote_id": job.remote_id, "status": job.status, "created_at": ts(job.created_at),
         "submitted_at": ts(job.submitted_at), "stored_at": ts(job.stored_at), "error": job.error_message[:200]}
        for job in VideoJob.objects.order_by("pk")
    ]
    return {"started": started, "created": created, "jobs": jobs}


def rss_kib(pid: int | str = "self") -> tuple[int, int]:
    """(current RSS, peak RSS since the last :func:`reset_peak_rss`) of a process, in KiB."""
    rss = hwm = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
        elif line.startswith("VmHWM:"):
            hwm = int(line.split()[1])
    return rss, hwm


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and every process below it, live or reaped (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        # utime, stime, and cutime, cstime: the children it reaped (django-q2 replaces a worker
        # after `recycle` tasks; without these its CPU would vanish with it)
        times[int(entry.name)] = sum(int(f) for f in fields[11:15]) / tick
    tree, todo = {pid}, [pid]
    while todo:
        current = todo.pop()
        for child, parent in parents.items():
            if parent == current and child not in tree:
                tree.add(child)
                todo.append(child)
    return sum(times.get(p, 0.0) for p in tree)


def idle_cpu(pid: int, timeout: float = 15.0) -> float:
    """Wait until ``pid``'s tree has finished starting up (CPU flat for 0.5 s); its CPU seconds so far."""
    deadline = time.monotonic() + timeout
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu_seconds(pid)
        if now - last < 0.05:
            return now
        last = now
    return last


def reset_peak_rss() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux ``clear_refs`` 5); False if not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


# --- command lines --------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What a benchmark's ``run()`` returns: its results.md section and the goals it checked."""

    name: str
    body: str
    goals: list[tuple[str, bool]]


def load_average() -> float:
    with contextlib.suppress(OSError):
        return float(Path("/proc/loadavg").read_text().split()[0])
    return math.nan


def execute(run: Callable[..., Outcome], **kwargs: Any) -> Outcome:
    """``run(**kwargs)``, its section stamped with how long it took and how busy the machine was."""
    before, start = load_average(), time.monotonic()
    outcome = run(**kwargs)
    minutes = (time.monotonic() - start) / 60
    outcome.body += (f"\n\n_Ran {minutes:.1f} min, finished {_now()} at commit {_commit()}; 1-minute load average "
                     f"{before:.1f} before, "
                     f"{load_average():.1f} after (a {os.cpu_count()}-core machine: above that, other processes "
                     "competed for the CPU)._")
    return outcome


def main(name: str, run: Callable[..., Outcome], argv: list[str] | None = None,
         add_arguments: Callable[[Any], None] | None = None) -> Outcome:
    """The command line every benchmark shares: ``--quick``, ``--results PATH``."""
    import argparse

    parser = argparse.ArgumentParser(description=(sys.modules["__main__"].__doc__ or "").strip().splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (CI smoke); writes bench/out/results-quick.md")
    parser.add_argument("--results", type=Path, help="results file to update (default: bench/results.md)")
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args(argv)
    outcome = execute(run, **{k: v for k, v in vars(args).items() if k != "results"})
    path = args.results or (QUICK_RESULTS if args.quick else RESULTS)
    write_section(outcome.name, outcome.body, path)
    print(outcome.body)
    log(f"section {outcome.name!r} written to {path}")
    return outcome


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] in ("call", "call-plain"):
        _child(sys.argv[2], sys.argv[3], django=sys.argv[1] == "call")
    else:
        sys.exit("usage: python -m bench.common call|call-plain module:function '<json kwargs>'")
