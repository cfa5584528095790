"""MariaDB, RabbitMQ and Redis for local runs: find them, start them if they are local and down.

Order of preference when one is not reachable: the local installation's own start command, then
docker compose (where a Docker engine runs); otherwise say exactly which one is missing and how to
start it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from foundation.settings import ServiceSettings


@dataclass(frozen=True)
class Dependency:
    """One infrastructure service the islands need."""

    name: str
    compose_service: str
    host: str
    port: int
    start_command: tuple[str, ...]
    binary: str

    def reachable(self, timeout_s: float = 1.0) -> bool:
        """A TCP connect succeeds."""
        try:
            with socket.create_connection((self.host, self.port), timeout=timeout_s):
                return True
        except OSError:
            return False

    @property
    def is_local(self) -> bool:
        """Only a server on this machine can be started from here."""
        return self.host in {"127.0.0.1", "localhost", "::1"}

    def how_to_start(self) -> str:
        """The command an operator runs to start it."""
        return " ".join(self.start_command)


def _host_port(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url.replace("mysql+asyncmy://", "mysql://"))
    return parts.hostname or "127.0.0.1", parts.port or default_port


def dependencies(settings: ServiceSettings) -> list[Dependency]:
    """The three dependencies as configured for one island (they share them)."""
    db_host, db_port = _host_port(settings.db_url, 3306)
    mq_host, mq_port = _host_port(settings.amqp_url, 5672)
    redis_host, redis_port = _host_port(settings.redis_url, 6379)
    return [
        Dependency(
            "MariaDB",
            "mariadb",
            db_host,
            db_port,
            # Sized as in docker-compose.yml: the defaults (128 MB buffer pool) make bulk imports wait on disk.
            (
                "start-stop-daemon",
                "--start",
                "--oknodo",
                "--background",
                "--exec",
                "/usr/sbin/mariadbd",
                "--",
                "--innodb-buffer-pool-size=2G",
                "--innodb-log-file-size=512M",
                "--local-infile=ON",  # stock-import's staged feed loads (LOAD DATA LOCAL)
            ),
            "/usr/sbin/mariadbd",
        ),
        Dependency("RabbitMQ", "rabbitmq", mq_host, mq_port, ("rabbitmq-server", "-detached"), "rabbitmq-server"),
        Dependency(
            "Redis",
            "redis",
            redis_host,
            redis_port,
            (
                "redis-server",
                "--daemonize",
                "yes",
                "--bind",
                "127.0.0.1",
                "-::1",
                "--port",
                str(redis_port),
                "--save",
                "",
                "--appendonly",
                "no",
            ),
            "redis-server",
        ),
    ]


def _docker_engine_runs() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False)
    return probe.returncode == 0


def _wait(dependency: Dependency, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if dependency.reachable():
            return True
        time.sleep(0.5)
    return False


def ensure_running(settings: ServiceSettings, compose_file: Path, *, timeout_s: float = 90) -> list[str]:
    """Start what is down; returns problems (empty when all three are reachable)."""
    problems: list[str] = []
    for dependency in dependencies(settings):
        if dependency.reachable():
            continue
        started = False
        if dependency.is_local and shutil.which(dependency.binary):
            subprocess.run(dependency.start_command, capture_output=True, timeout=60, check=False)
            started = _wait(dependency, timeout_s)
        elif dependency.is_local and compose_file.is_file() and _docker_engine_runs():
            subprocess.run(
                [
                    "docker",
                    "compose",
                    "-f",
                    str(compose_file),
                    "up",
                    "-d",
                    "--wait",
                    dependency.compose_service,
                ],
                check=False,
                timeout=300,
            )
            started = _wait(dependency, timeout_s)
        if not started:
            problems.append(
                f"{dependency.name} is not reachable at {dependency.host}:{dependency.port}. "
                f"Start it with `{dependency.how_to_start()}` (or `docker compose up -d "
                f"{dependency.compose_service}` where Docker runs), or point the *_"
                f"{'DB' if dependency.name == 'MariaDB' else 'AMQP' if dependency.name == 'RabbitMQ' else 'REDIS'}"
                "_URL settings at a running one."
            )
    return problems
