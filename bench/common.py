"""Shared by the benchmark runners: the seeded databases, the app server, stats."""

from __future__ import annotations

import gc
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CME_SECRET_KEY", "bench-secret-not-for-production")
os.environ["REFLEX_TELEMETRY_ENABLED"] = "false"
os.environ["REFLEX_CHECK_LATEST_VERSION"] = "0"

BENCH_DIR = ROOT / ".bench"  # seeded databases and logs; git-ignored
BUN_DIR = ROOT / ".tools" / "node_modules" / "@oven" / "bun-linux-x64" / "bin"
PG_SERVER = os.environ.get("CME_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
SQLITE_URL = f"sqlite:///{BENCH_DIR / 'cme-bench.db'}"
PG_URL = f"{PG_SERVER}/cme_bench"


def db_url(backend: str) -> str:
    return SQLITE_URL if backend == "sqlite" else PG_URL


def seeded(backend: str, *, fresh: bool = False) -> str:
    """The design-load database for `backend` ("sqlite" or "pg"), seeded once and reused."""
    import sqlalchemy as sa

    from bench import seed

    BENCH_DIR.mkdir(exist_ok=True)
    url = db_url(backend)
    marker = BENCH_DIR / f"seeded-{backend}"
    if marker.exists() and not fresh:
        return url
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{BENCH_DIR / 'cme-bench.db'}{suffix}").unlink(missing_ok=True)
    else:
        admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT",
                                 poolclass=sa.pool.NullPool)
        with admin.connect() as conn:
            conn.exec_driver_sql("DROP DATABASE IF EXISTS cme_bench WITH (FORCE)")
            conn.exec_driver_sql("CREATE DATABASE cme_bench")
        admin.dispose()
    counts = seed.seed(url)
    print(f"[seed] {backend}: {counts.rows} in {counts.seconds:.0f} s", flush=True)
    marker.write_text(str(counts.rows))
    return url


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def median(values) -> float:
    return statistics.median(values)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}); see {log}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 (http only)
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {timeout}s; see {log}")
        time.sleep(0.5)


def stop(proc: subprocess.Popen) -> None:
    from tests.e2e.helpers import stop_process_group  # late: the environment is set first

    stop_process_group(proc)


def start_app(url: str, *, extra_env: dict | None = None, name: str = "app",
              ) -> tuple[subprocess.Popen, str]:
    """The real app's production build (reflex run --env prod --single-port) on `url`'s
    database, as tests/e2e/conftest.py app_url starts it. Returns (process, base URL)."""
    port = free_port()
    BENCH_DIR.mkdir(exist_ok=True)
    log = BENCH_DIR / f"{name}-{port}.log"
    reflex = Path(sys.executable).with_name("reflex")
    env = {
        **os.environ,
        "REFLEX_DB_URL": url,
        "CME_ALLOWED_ORIGINS": f"http://localhost:{port},http://127.0.0.1:{port}",
        "PATH": f"{BUN_DIR}{os.pathsep}{reflex.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
        "CME_NOTIFY_SCAN_SECONDS": "86400",
        **(extra_env or {}),
    }
    cmd = [str(reflex), "run", "--env", "prod", "--single-port",
           "--frontend-port", str(port), "--backend-port", str(port)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,  # noqa: S603
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/ping", proc, log)
    except BaseException:
        stop(proc)
        raise
    return proc, f"http://localhost:{port}"


def start_echo(*, workers: int = 1, name: str = "echo") -> tuple[subprocess.Popen, str]:
    """The bare python-socketio echo server (bench/echo_server.py) under granian, as the app's
    prod backend runs."""
    port = free_port()
    BENCH_DIR.mkdir(exist_ok=True)
    log = BENCH_DIR / f"{name}-{port}.log"
    granian = Path(sys.executable).with_name("granian")
    cmd = [str(granian), "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers), "bench.echo_server:app"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out,  # noqa: S603
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/ping", proc, log, timeout=60)
    except BaseException:
        stop(proc)
        raise
    return proc, f"http://localhost:{port}"


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) / {five:.2f} (5 min) on {os.cpu_count()} cores"


@contextmanager
def no_gc():
    """Each timed call starts with a clean heap and runs without the cyclic collector, so one
    call's garbage is not collected in (and charged to) the next one."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def fresh_database(backend: str, name: str) -> str:
    """An empty database of a benchmark's own: `.bench/<name>.db`, or PostgreSQL `<name>`."""
    import sqlalchemy as sa

    if backend == "sqlite":
        BENCH_DIR.mkdir(exist_ok=True)
        path = BENCH_DIR / f"{name.replace('_', '-')}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT",
                             poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    return f"{PG_SERVER}/{name}"
