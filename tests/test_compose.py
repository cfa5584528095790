"""docker-compose.yml and deploy/Dockerfile checked against the code they run, without Docker.

No engine runs here, so nothing is built; instead every name the two files use is resolved against
the workspace: island containers against the islands' settings (env prefix, fields, schema, ports)
and factories, build args against the Dockerfile's ARGs and the workspace packages, COPY sources
against the repository and .dockerignore, the one-shot jobs against the operator CLI.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer
import yaml

from foundation.island import ENTRY_POINT_GROUP, Island, discover_islands, load
from foundation.settings import ServiceSettings
from integration_sdk.cli.supervisor import SIMULATORS
from integration_sdk.migrations import MIGRATIONS_DIR_ENV
from integration_sdk.partners.simulators.settings import SimulatorSettings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

INFRA_IMAGES = {"mariadb": "mariadb:10.11", "rabbitmq": "rabbitmq:3-management", "redis": "redis:7"}
INFRA_PROBES = {
    "mariadb": "healthcheck.sh --connect --innodb_initialized",
    "rabbitmq": "rabbitmq-diagnostics -q ping",
    "redis": "redis-cli ping",
}
# Which compose service each URL setting must point at from inside a container.
URL_HOSTS = {"db_url": "mariadb", "amqp_url": "rabbitmq", "redis_url": "redis"}
ONE_SHOT_COMMANDS = {
    "migrate": ["atraxion", "migrate"],
    "seed": ["atraxion", "seed", "--scale", "small", "--seed", "42"],
}
BASE_IMAGE = "python:3.11-slim"

# The compose specification's service, healthcheck and build keys: compose rejects others, but only
# when it runs, which it cannot here.
SERVICE_KEYS = {
    "annotations", "attach", "blkio_config", "build", "cap_add", "cap_drop", "cgroup", "cgroup_parent",
    "command", "configs", "container_name", "cpu_count", "cpu_percent", "cpu_period", "cpu_quota",
    "cpu_rt_period", "cpu_rt_runtime", "cpu_shares", "cpus", "cpuset", "credential_spec", "depends_on",
    "deploy", "develop", "device_cgroup_rules", "devices", "dns", "dns_opt", "dns_search", "domainname",
    "entrypoint", "env_file", "environment", "expose", "extends", "external_links", "extra_hosts", "gpus",
    "group_add", "healthcheck", "hostname", "image", "init", "ipc", "isolation", "labels", "links",
    "logging", "mac_address", "mem_limit", "mem_reservation", "mem_swappiness", "memswap_limit",
    "network_mode", "networks", "oom_kill_disable", "oom_score_adj", "pid", "pids_limit", "platform",
    "ports", "post_start", "pre_stop", "privileged", "profiles", "pull_policy", "read_only", "restart",
    "runtime", "scale", "secrets", "security_opt", "shm_size", "stdin_open", "stop_grace_period",
    "stop_signal", "storage_opt", "sysctls", "tmpfs", "tty", "ulimits", "user", "userns_mode", "uts",
    "volumes", "volumes_from", "working_dir",
}  # fmt: skip
HEALTHCHECK_KEYS = {"test", "interval", "timeout", "retries", "start_period", "start_interval", "disable"}
BUILD_KEYS = {
    "context", "dockerfile", "dockerfile_inline", "args", "ssh", "cache_from", "cache_to", "additional_contexts",
    "extra_hosts", "isolation", "labels", "network", "no_cache", "platforms", "privileged", "pull", "secrets",
    "shm_size", "tags", "target", "ulimits", "entitlements",
}  # fmt: skip
DEPENDS_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


# --- the workspace ------------------------------------------------------------------------------------


def normalize(name: str) -> str:
    """A distribution name as packaging compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class WorkspacePackage:
    name: str
    folder: Path
    pyproject: dict[str, Any]

    @property
    def dependencies(self) -> set[str]:
        """Names of the distributions it requires (versions and extras dropped)."""
        specs = self.pyproject.get("project", {}).get("dependencies", [])
        return {normalize(re.split(r"[\s\[<>=!~;]", spec, maxsplit=1)[0]) for spec in specs}

    @property
    def wheel_packages(self) -> list[str]:
        """Import-package folders (relative to the repository) that its wheel contains."""
        targets = self.pyproject.get("tool", {}).get("hatch", {}).get("build", {}).get("targets", {})
        folders = targets.get("wheel", {}).get("packages", [])
        return [(self.folder / folder).relative_to(ROOT).as_posix() for folder in folders]


@cache
def workspace() -> dict[str, WorkspacePackage]:
    """The workspace root and its members, by normalized distribution name."""
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    folders = [ROOT]
    for pattern in root["tool"]["uv"]["workspace"]["members"]:
        folders += sorted(path.parent for path in ROOT.glob(f"{pattern}/pyproject.toml"))
    packages = {}
    for folder in folders:
        data = tomllib.loads((folder / "pyproject.toml").read_text())
        packages[normalize(data["project"]["name"])] = WorkspacePackage(data["project"]["name"], folder, data)
    return packages


def installed_with(package: str) -> set[str]:
    """The workspace packages that `uv sync --package <package>` installs: it and its workspace deps."""
    members = workspace()
    seen: set[str] = set()
    todo = [normalize(package)]
    while todo:
        name = todo.pop()
        if name in seen or name not in members:
            continue
        seen.add(name)
        todo += members[name].dependencies
    return seen


def console_scripts() -> dict[str, tuple[str, str]]:
    """Console script name -> (distribution, ``module:function``) over the workspace."""
    scripts = {}
    for name, package in workspace().items():
        for script, target in package.pyproject.get("project", {}).get("scripts", {}).items():
            scripts[script] = (name, target)
    return scripts


def island_distributions() -> dict[str, str]:
    """Island name -> the distribution that publishes it."""
    found = {}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        assert entry_point.dist is not None, f"entry point {entry_point.name} has no distribution"
        found[entry_point.name] = normalize(entry_point.dist.name)
    return found


def env_names(island: Island) -> set[str]:
    """The environment variables the island's settings read."""
    return {f"{island.env_prefix}{name}".upper() for name in island.settings_class.model_fields}


ISLANDS = discover_islands()
SIMULATOR_ENV = {f"PARTNER_SIM_{name}".upper() for name in SimulatorSettings.model_fields}
SIMULATOR_PORTS = {"erp-simulator": "erp_port", "platform-simulator": "platforms_port"}
SIMULATOR_HOSTS = {"erp-simulator": "erp_host", "platform-simulator": "platforms_host"}


def settings_from(island: Island, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> ServiceSettings:
    """The island's settings as a container with ``env`` (and nothing from this machine) sees them."""
    prefixes = tuple(each.env_prefix.upper() for each in ISLANDS)
    for name in list(os.environ):
        if name.upper().startswith(prefixes):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        return island.settings_class()
    except Exception as exc:  # a validation error names the field; say which container too
        pytest.fail(f"{island.name}: the environment does not validate as {island.settings_class.__name__}: {exc}")


# --- docker-compose.yml -------------------------------------------------------------------------------


@cache
def compose() -> dict[str, Any]:
    """docker-compose.yml, anchors and merge keys resolved."""
    assert COMPOSE_FILE.is_file(), f"{COMPOSE_FILE} is missing"
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    assert isinstance(data.get("services"), dict), "docker-compose.yml has no services"
    return data


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]  # type: ignore[no-any-return]


def service(name: str) -> dict[str, Any]:
    assert name in services(), f"docker-compose.yml has no service {name!r}; it has {sorted(services())}"
    return services()[name]


def environment(name: str) -> dict[str, str]:
    """A service's environment as a dict (either compose form)."""
    raw = service(name).get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, None) for item in raw)
    for key, value in raw.items():
        # YAML 1.1 turns yes/no/on/off, 0.0 and 010 into other types: compose rejects or mangles them.
        assert isinstance(value, str), f"{name}: env {key}={value!r} is a {type(value).__name__}; quote it"
    return dict(raw)


def command(name: str) -> list[str]:
    raw = service(name).get("command")
    assert raw is not None, f"{name}: no command"
    return shlex.split(raw) if isinstance(raw, str) else [str(part) for part in raw]


@dataclass(frozen=True)
class Published:
    host_ip: str
    host_port: int | None
    container_port: int


def published_ports(name: str) -> list[Published]:
    """The service's port mappings, short or long syntax."""
    result = []
    for entry in service(name).get("ports", []):
        if isinstance(entry, dict):
            published = entry.get("published")
            result.append(
                Published(entry.get("host_ip", ""), int(published) if published else None, int(entry["target"]))
            )
            continue
        # YAML 1.1 reads an unquoted 9001:9001 as a base-60 number.
        assert isinstance(entry, str), f"{name}: port {entry!r} must be a quoted string"
        parts = entry.split("/", 1)[0].split(":")
        if len(parts) == 1:
            result.append(Published("", None, int(parts[0])))
        else:
            result.append(Published(":".join(parts[:-2]), int(parts[-2]), int(parts[-1])))
    return result


def depends_on(name: str) -> dict[str, str]:
    """Dependency -> condition (the list form means ``service_started``)."""
    raw = service(name).get("depends_on") or {}
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {dep: spec.get("condition", "service_started") for dep, spec in raw.items()}


def healthcheck_command(name: str) -> str:
    check = service(name).get("healthcheck")
    assert check, f"{name}: no healthcheck"
    assert not check.get("disable"), f"{name}: healthcheck disabled"
    test = check.get("test")
    assert test, f"{name}: healthcheck has no test"
    if isinstance(test, str):
        return test
    assert test[0] in ("CMD", "CMD-SHELL"), f"{name}: healthcheck test must start with CMD or CMD-SHELL: {test}"
    return " ".join(str(part) for part in test[1:])


@dataclass(frozen=True)
class IslandContainer:
    island: Island
    role: str  # "api" | "worker"

    @property
    def service(self) -> str:
        return self.island.name if self.role == "api" else f"{self.island.name}-worker"

    @property
    def factory(self) -> str:
        return self.island.app_factory if self.role == "api" else self.island.worker_factory

    @property
    def port_field(self) -> str:
        return "http_port" if self.role == "api" else "worker_port"


CONTAINERS = [IslandContainer(island, role) for island in ISLANDS for role in ("api", "worker")]
ONE_SHOTS = sorted(ONE_SHOT_COMMANDS)


# --- deploy/Dockerfile --------------------------------------------------------------------------------


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for keyword, args in self.instructions:
            if keyword == "ENV":
                for token in shlex.split(args):
                    key, _, value = token.partition("=")
                    values[key] = value
        return values

    def copies(self) -> list[tuple[list[str], str, dict[str, str]]]:
        """(sources, destination, flags) of each COPY/ADD."""
        result = []
        for keyword, args in self.instructions:
            if keyword not in ("COPY", "ADD"):
                continue
            tokens = json.loads(args) if args.lstrip().startswith("[") else shlex.split(args)
            flags = dict(token[2:].partition("=")[::2] for token in tokens if token.startswith("--"))
            paths = [token for token in tokens if not token.startswith("--")]
            result.append((paths[:-1], paths[-1], flags))
        return result


@cache
def dockerfile() -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages, with line continuations joined and comments dropped."""
    assert DOCKERFILE.is_file(), f"{DOCKERFILE} is missing"
    logical: list[str] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = args.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else str(len(stages))
            stages.append(Stage(words[0], name))
        elif not stages:
            if keyword == "ARG":
                key, _, value = args.partition("=")
                global_args[key.strip()] = value.strip()
        else:
            stages[-1].instructions.append((keyword, args.strip()))
    assert stages, "deploy/Dockerfile has no FROM"
    return global_args, stages


def declared_args() -> set[str]:
    global_args, stages = dockerfile()
    names = set(global_args)
    for stage in stages:
        names |= {args.partition("=")[0].strip() for keyword, args in stage.instructions if keyword == "ARG"}
    return names


def launcher_variables() -> set[str]:
    """Variables the final stage declares for its own command (APP_FACTORY, PORT ...)."""
    return set(dockerfile()[1][-1].env())


@cache
def dockerignore() -> list[str]:
    if not DOCKERIGNORE.is_file():
        return []
    lines = (line.strip() for line in DOCKERIGNORE.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def ignored(path: str) -> bool:
    """Whether .dockerignore keeps ``path`` (relative to the context) out of the build context."""
    parts = Path(path).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]  # the path and its parents
    excluded = False
    for raw in dockerignore():
        negate = raw.startswith("!")
        pattern = raw.lstrip("!").strip("/")
        variants = {pattern, pattern.removeprefix("**/")}
        if any(fnmatch.fnmatchcase(c, v) for c in candidates for v in variants):
            excluded = not negate
    return excluded


# --- tests: infrastructure ----------------------------------------------------------------------------


def test_compose_uses_only_known_keys() -> None:
    """A misspelt key (``depend_on``, ``helthcheck``) would make compose refuse the file."""
    problems = []
    for name, spec in services().items():
        problems += [f"{name}: unknown key {key!r}" for key in spec if key not in SERVICE_KEYS]
        problems += [
            f"{name}: unknown healthcheck key {key!r}"
            for key in spec.get("healthcheck") or {}
            if key not in HEALTHCHECK_KEYS
        ]
        build = spec.get("build")
        if isinstance(build, dict):
            problems += [f"{name}: unknown build key {key!r}" for key in build if key not in BUILD_KEYS]
        for dep, condition in depends_on(name).items():
            if dep not in services():
                problems.append(f"{name}: depends on {dep!r}, which is not a service")
            if condition not in DEPENDS_CONDITIONS:
                problems.append(f"{name}: depends_on {dep} has unknown condition {condition!r}")
    assert not problems, "\n".join(problems)


def test_every_service_is_infra_a_one_shot_job_or_an_island_container() -> None:
    """No stale or misnamed containers (the CLI and `atraxion status` know them by these names)."""
    expected = set(INFRA_IMAGES) | set(ONE_SHOT_COMMANDS) | {each.service for each in CONTAINERS} | set(SIMULATORS)
    unknown = sorted(set(services()) - expected)
    missing = sorted(expected - set(services()))
    assert not unknown, f"services that match no island, infra or one-shot job: {unknown}"
    assert not missing, f"docker-compose.yml lacks services: {missing}"


@pytest.mark.parametrize("name", sorted(INFRA_IMAGES))
def test_infra_image_and_healthcheck(name: str) -> None:
    spec = service(name)
    assert spec.get("image") == INFRA_IMAGES[name], f"{name}: image {spec.get('image')!r}, want {INFRA_IMAGES[name]}"
    probe = healthcheck_command(name)
    assert INFRA_PROBES[name] in probe, f"{name}: healthcheck {probe!r} does not run {INFRA_PROBES[name]!r}"


def test_mariadb_root_login_matches_the_urls() -> None:
    """The islands log in as root with an empty password: the server must allow exactly that."""
    env = environment("mariadb")
    urls = [value for each in services() for key, value in environment(each).items() if key.endswith("_DB_URL")]
    passwords = {urlsplit(url.replace("mysql+asyncmy://", "mysql://")).password or "" for url in urls}
    if passwords == {""}:
        assert env.get("MARIADB_ALLOW_EMPTY_ROOT_PASSWORD") in {"1", "yes", "true"}, (
            "DB URLs use root without a password but mariadb lacks MARIADB_ALLOW_EMPTY_ROOT_PASSWORD"
        )
    else:
        assert passwords == {env.get("MARIADB_ROOT_PASSWORD")}, (
            f"DB URL passwords {sorted(passwords)} differ from mariadb's MARIADB_ROOT_PASSWORD"
        )


def test_infra_is_published_where_the_cli_looks_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """`atraxion infra` starts `docker compose up <service>` and then waits on the settings' default port."""
    from integration_sdk.cli.infra import dependencies

    defaults = settings_from(ISLANDS[0], {}, monkeypatch)
    for dependency in dependencies(defaults):
        ports = published_ports(dependency.compose_service)
        assert any(p.host_port == dependency.port for p in ports), (
            f"{dependency.compose_service}: not published on host port {dependency.port} "
            f"(the CLI waits for {dependency.name} at {dependency.host}:{dependency.port}); has {ports}"
        )


# --- tests: island containers -------------------------------------------------------------------------


@pytest.mark.parametrize("container", CONTAINERS, ids=lambda c: c.service)
def test_island_container_waits_for_infra_and_migrations(container: IslandContainer) -> None:
    deps = depends_on(container.service)
    for infra in INFRA_IMAGES:
        assert deps.get(infra) == "service_healthy", (
            f"{container.service}: depends_on {infra} is {deps.get(infra)!r}, want service_healthy"
        )
    assert deps.get("migrate") == "service_completed_successfully", (
        f"{container.service}: depends_on migrate is {deps.get('migrate')!r}, want service_completed_successfully"
    )


@pytest.mark.parametrize("container", CONTAINERS, ids=lambda c: c.service)
def test_island_container_env_is_its_own_settings(container: IslandContainer) -> None:
    """Every variable is a field of this island's settings (a typo is silently ignored otherwise)."""
    known = env_names(container.island) | launcher_variables()
    unknown = sorted(set(environment(container.service)) - known)
    assert not unknown, (
        f"{container.service}: {unknown} are neither {container.island.settings_class.__name__} fields "
        f"(prefix {container.island.env_prefix}) nor variables declared by deploy/Dockerfile"
    )


@pytest.mark.parametrize("container", CONTAINERS, ids=lambda c: c.service)
def test_island_container_settings_point_at_the_compose_infra(
    container: IslandContainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    island = container.island
    settings = settings_from(island, environment(container.service), monkeypatch)
    default_schema = settings_from(island, {}, monkeypatch).db_schema
    assert settings.db_schema == default_schema, (
        f"{container.service}: DB URL schema {settings.db_schema!r}, the island owns {default_schema!r}"
    )
    for setting, host in URL_HOSTS.items():
        url = getattr(settings, setting).replace("mysql+asyncmy://", "mysql://")
        assert urlsplit(url).hostname == host, (
            f"{container.service}: {island.env_prefix}{setting.upper()} is {url!r}; in a container it must "
            f"point at the compose service {host!r}"
        )
    assert settings.http_host == "0.0.0.0", f"{container.service}: {island.env_prefix}HTTP_HOST must be 0.0.0.0"


@pytest.mark.parametrize("container", CONTAINERS, ids=lambda c: c.service)
def test_island_container_serves_on_the_islands_port(
    container: IslandContainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = environment(container.service)
    expected = container.island.settings_class.model_fields[container.port_field].default
    effective = getattr(settings_from(container.island, env, monkeypatch), container.port_field)
    assert effective == expected, f"{container.service}: {container.port_field} overridden to {effective}"
    assert env.get("PORT") == str(expected), (
        f"{container.service}: PORT={env.get('PORT')!r}, but the island's {container.port_field} is {expected}"
    )
    ports = published_ports(container.service)
    assert ports, f"{container.service}: no ports published"
    wrong = [p for p in ports if (p.host_port, p.container_port) != (expected, expected)]
    assert not wrong, f"{container.service}: publishes {wrong}, want {expected}:{expected}"


@pytest.mark.parametrize("container", CONTAINERS, ids=lambda c: c.service)
def test_island_container_runs_the_islands_factory(container: IslandContainer) -> None:
    factory = environment(container.service).get("APP_FACTORY")
    assert factory == container.factory, f"{container.service}: APP_FACTORY={factory!r}, want {container.factory}"
    assert callable(load(factory)), f"{container.service}: {factory} is not callable"
    for variable in ("APP_FACTORY", "PORT"):
        assert variable in launcher_variables(), (
            f"deploy/Dockerfile's final stage must declare {variable} (ENV) for its CMD"
        )


@pytest.mark.parametrize("container", CONTAINERS, ids=lambda c: c.service)
def test_island_container_healthcheck_asks_readiness(container: IslandContainer) -> None:
    probe = healthcheck_command(container.service)
    port = str(container.island.settings_class.model_fields[container.port_field].default)
    assert "/health/ready" in probe, f"{container.service}: healthcheck {probe!r} does not hit /health/ready"
    assert "PORT" in probe or port in probe, f"{container.service}: healthcheck {probe!r} names no port"
    assert probe.split()[0] not in {"curl", "wget"}, f"{container.service}: {BASE_IMAGE} has no {probe.split()[0]}"


@pytest.mark.parametrize("container", CONTAINERS, ids=lambda c: c.service)
def test_island_image_contains_the_island(container: IslandContainer) -> None:
    build = service(container.service).get("build")
    assert isinstance(build, dict), f"{container.service}: build must be a mapping with args"
    package = (build.get("args") or {}).get("SERVICE")
    assert package, f"{container.service}: no SERVICE build arg"
    distribution = island_distributions()[container.island.name]
    assert distribution in installed_with(package), (
        f"{container.service}: the image built for {package!r} does not contain {distribution}"
    )


# --- tests: partner simulators ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SIMULATORS))
def test_simulator_container_runs_its_factory_on_its_port(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env = environment(name)
    unknown = sorted(set(env) - SIMULATOR_ENV - launcher_variables())
    assert not unknown, f"{name}: {unknown} are neither SimulatorSettings fields nor launcher variables"
    assert env.get("APP_FACTORY") == SIMULATORS[name], f"{name}: APP_FACTORY={env.get('APP_FACTORY')!r}"
    for variable in list(os.environ):
        if variable.startswith("PARTNER_SIM_"):
            monkeypatch.delenv(variable)
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    settings = SimulatorSettings()
    port = getattr(settings, SIMULATOR_PORTS[name])
    assert env.get("PORT") == str(port), f"{name}: PORT={env.get('PORT')!r}, the simulator's port is {port}"
    assert getattr(settings, SIMULATOR_HOSTS[name]) == "0.0.0.0", f"{name}: must listen on 0.0.0.0 in a container"
    assert [(p.host_port, p.container_port) for p in published_ports(name)] == [(port, port)]
    assert "/health/ready" in healthcheck_command(name)
    package = service(name)["build"]["args"]["SERVICE"]
    assert "atraxion-integration-sdk" in installed_with(package), f"{name}: image {package!r} lacks the simulators"


def test_islands_and_seed_reach_the_simulators() -> None:
    """erp-middleware calls the ERP simulator; seeded platform configs point at the platform simulator."""
    erp_url = urlsplit(environment("erp-middleware-worker")["ERP_MIDDLEWARE_ERP_URL"])
    assert (erp_url.hostname, erp_url.port) == ("erp-simulator", SimulatorSettings().erp_port)
    platforms_url = urlsplit(environment("seed")["PARTNER_SIM_PLATFORMS_PUBLIC_URL"])
    assert (platforms_url.hostname, platforms_url.port) == ("platform-simulator", SimulatorSettings().platforms_port)


# --- tests: one-shot jobs -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ONE_SHOTS)
def test_one_shot_job_command(name: str) -> None:
    assert command(name) == ONE_SHOT_COMMANDS[name], f"{name}: runs {command(name)}"
    assert service(name).get("restart", "no") == "no", f"{name}: a one-shot job must not restart"


@pytest.mark.parametrize("name", ONE_SHOTS)
def test_one_shot_job_parses_with_the_cli(name: str) -> None:
    """The image has the console script, and the CLI accepts the arguments compose passes."""
    script, *args = command(name)
    assert script in console_scripts(), f"{name}: {script!r} is no console script of a workspace package"
    distribution, target = console_scripts()[script]
    package = service(name)["build"]["args"]["SERVICE"]
    assert distribution in installed_with(package), f"{name}: image {package!r} lacks {distribution}"
    module = import_module(target.partition(":")[0])
    apps = [value for value in vars(module).values() if isinstance(value, typer.Typer)]
    assert len(apps) == 1, f"{name}: expected one typer app in {module.__name__}, found {len(apps)}"
    group = typer.main.get_command(apps[0])
    context = group.make_context(script, list(args), resilient_parsing=True)
    subcommand = group.get_command(context, args[0])  # type: ignore[attr-defined]
    assert subcommand is not None, f"{name}: `{script}` has no command {args[0]!r}"
    subcommand.make_context(args[0], list(args[1:]), parent=context)  # raises on an unknown option


def test_one_shot_image_contains_every_island() -> None:
    """migrate and seed walk all islands: their image must have every island's entry point."""
    for name in ONE_SHOTS:
        package = service(name)["build"]["args"]["SERVICE"]
        missing = sorted(set(island_distributions().values()) - installed_with(package))
        assert not missing, f"{name}: image {package!r} lacks islands {missing}"


@pytest.mark.parametrize("name", ONE_SHOTS)
def test_one_shot_job_env_covers_every_island(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env = environment(name)
    known = set().union(*(env_names(island) for island in ISLANDS)) | launcher_variables() | SIMULATOR_ENV
    unknown = sorted(set(env) - known)
    assert not unknown, f"{name}: {unknown} are no island's or simulator's settings field"
    for island in ISLANDS:
        settings = settings_from(island, env, monkeypatch)
        schema = settings_from(island, {}, monkeypatch).db_schema
        assert settings.db_schema == schema, f"{name}: {island.name}'s schema is {settings.db_schema!r}, want {schema}"
        for setting, host in URL_HOSTS.items():
            url = getattr(settings, setting).replace("mysql+asyncmy://", "mysql://")
            assert urlsplit(url).hostname == host, f"{name}: {island.name}'s {setting} {url!r} is not on {host!r}"


def test_one_shot_jobs_are_ordered() -> None:
    for name in ONE_SHOTS:
        deps = depends_on(name)
        for infra in INFRA_IMAGES:
            assert deps.get(infra) == "service_healthy", f"{name}: depends_on {infra} is {deps.get(infra)!r}"
    assert depends_on("seed").get("migrate") == "service_completed_successfully", (
        "seed must wait for migrate with condition service_completed_successfully"
    )


# --- tests: builds ------------------------------------------------------------------------------------


def test_builds_resolve() -> None:
    """Context and Dockerfile exist, every build arg is an ARG, every SERVICE a workspace package."""
    problems = []
    for name, spec in services().items():
        build = spec.get("build")
        if build is None:
            continue
        if isinstance(build, str):
            build = {"context": build}
        context = ROOT / build.get("context", ".")
        dockerfile_path = context / build.get("dockerfile", "Dockerfile")
        if not context.is_dir():
            problems.append(f"{name}: build context {context} does not exist")
        if not dockerfile_path.is_file():
            problems.append(f"{name}: Dockerfile {dockerfile_path} does not exist")
        elif dockerfile_path.resolve() != DOCKERFILE.resolve():
            problems.append(f"{name}: builds {dockerfile_path}, this test checks {DOCKERFILE} only")
        if context.resolve() != ROOT:
            problems.append(f"{name}: the context must be the repository root (the Dockerfile copies from it)")
        args = build.get("args") or {}
        problems += [
            f"{name}: build arg {arg} is no ARG of the Dockerfile" for arg in args if arg not in declared_args()
        ]
        if "SERVICE" not in args:
            problems.append(f"{name}: no SERVICE build arg")
        elif normalize(str(args["SERVICE"])) not in workspace():
            problems.append(f"{name}: SERVICE={args['SERVICE']!r} is no workspace package ({sorted(workspace())})")
    assert not problems, "\n".join(problems)


def test_services_sharing_an_image_share_its_build() -> None:
    """Two builds tagged alike would overwrite each other: a worker could run another island's code."""
    builds: dict[str, tuple[str, Any]] = {}
    for name, spec in services().items():
        if "build" not in spec:
            continue
        image = spec.get("image")
        assert image, f"{name}: a built service needs an image tag"
        first = builds.setdefault(image, (name, spec["build"]))
        assert first[1] == spec["build"], f"{name} and {first[0]} tag different builds as {image}"


# --- tests: the Dockerfile ----------------------------------------------------------------------------


def test_dockerfile_stages_share_the_python_base() -> None:
    """The venv's interpreter symlinks point into the base image: builder and runtime must match."""
    _, stages = dockerfile()
    bases = {stage.base for stage in stages}
    assert bases == {BASE_IMAGE}, f"stages are based on {sorted(bases)}, want {BASE_IMAGE} throughout"
    assert len(stages) >= 2, "deploy/Dockerfile must be multi-stage (builder + runtime)"


def test_dockerfile_copy_sources_exist_and_are_in_the_context() -> None:
    _, stages = dockerfile()
    problems = []
    for stage in stages:
        for sources, _, flags in stage.copies():
            if "from" in flags:
                continue
            for source in sources:
                if not list(ROOT.glob(source)):
                    problems.append(f"COPY {source}: no such path in the repository")
                elif ignored(source):
                    problems.append(f"COPY {source}: excluded from the build context by .dockerignore")
    assert not problems, "\n".join(problems)


def test_dockerfile_resolves_the_workspace_before_the_source() -> None:
    """uv needs every member's pyproject.toml and the lock for the dependency layer."""
    builder = dockerfile()[1][0]
    copied: list[str] = []
    for keyword, args in builder.instructions:
        if keyword == "RUN" and "uv sync" in args:
            first_sync = args
            break
        if keyword == "COPY":
            tokens = [token for token in shlex.split(args) if not token.startswith("--")]
            copied += tokens[:-1]
    else:
        pytest.fail("the builder stage never runs `uv sync`")
    needed = ["pyproject.toml", "uv.lock"] + [
        (package.folder / "pyproject.toml").relative_to(ROOT).as_posix()
        for package in workspace().values()
        if package.folder != ROOT
    ]
    missing = [path for path in needed if path not in copied]
    assert not missing, f"copied before the first `uv sync`: {copied}; missing {missing}"
    for flag in ("--frozen", "--no-dev", "--package"):
        assert flag in first_sync, f"the dependency layer's `uv sync` lacks {flag}: {first_sync}"
    assert "--no-install-workspace" in first_sync, "the dependency layer must not install workspace sources"


def test_dockerfile_wheel_sources_are_in_the_context() -> None:
    """Every workspace package's import folder reaches the builder (not excluded by .dockerignore)."""
    excluded = [folder for package in workspace().values() for folder in package.wheel_packages if ignored(folder)]
    assert not excluded, f".dockerignore excludes package sources {excluded}"
    for required in (".venv", ".git"):
        assert ignored(required), f".dockerignore should keep {required} out of the build context"


def test_dockerfile_runtime_stage() -> None:
    runtime = dockerfile()[1][-1]
    env = runtime.env()
    users = [args for keyword, args in runtime.instructions if keyword == "USER"]
    assert users, "the runtime stage runs as root: add USER"
    assert users[-1].split(":")[0] not in {"root", "0"}, f"the runtime stage runs as {users[-1]}"
    assert "/app/.venv/bin" in env.get("PATH", ""), f"runtime PATH {env.get('PATH')!r} lacks /app/.venv/bin"
    migrations_dir = env.get(MIGRATIONS_DIR_ENV)
    assert migrations_dir, f"the runtime stage does not set {MIGRATIONS_DIR_ENV}"
    destinations = {destination.rstrip("/") for sources, destination, _ in runtime.copies() if "migrations" in sources}
    assert migrations_dir in destinations, (
        f"{MIGRATIONS_DIR_ENV}={migrations_dir}, migrations/ copied to {destinations}"
    )
    assert any(flags.get("from") for _, _, flags in runtime.copies()), (
        "the runtime stage copies nothing from the builder"
    )
    for keyword, args in runtime.instructions:
        if keyword == "RUN":
            for tool in ("pip install", "uv ", "apt-get install", "gcc"):
                assert tool not in args, f"the runtime stage installs build tooling: RUN {args}"
    cmd = " ".join(args for keyword, args in runtime.instructions if keyword == "CMD")
    for needed in ("uvicorn", "--factory", "APP_FACTORY", "PORT", "0.0.0.0"):
        assert needed in cmd, f"the runtime CMD lacks {needed!r}: {cmd}"
