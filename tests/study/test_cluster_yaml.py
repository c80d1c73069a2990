"""The Ray cluster launcher configs: ``cluster.yaml`` (AWS) and ``cluster-onprem.yaml`` (local).

Ray's own validator checks the schema: ``prepare_config`` then ``validate_config``, the first
two steps of ``ray up``. It cannot see what a jetstudy run needs, so the checks below do: GPU
nodes fit the trials of ``configs/full.yaml``, no Ray port is open to the internet, no secret
is written down, the dashboard listens on localhost only, token authentication stays on, the
setup installs jetstudy and the Ray this machine runs, and results go to shared storage.

Each check returns its problems as messages that name the field, the value and the fix. The
negative tests break a copy of a file (or of the study config) and match the message, so
every check is shown to fail when it should.

Offline: ``prepare_config`` fills in the provider's defaults from the YAML shipped inside the
ray package (``ray/autoscaler/aws/defaults.yaml``; for ``local`` it first runs
``prepare_local``) and imports neither boto3 nor the AWS node provider. The steps of ``ray up``
after it do call AWS (``fillout_available_node_types_resources`` asks EC2 for instance types,
``bootstrap_config`` sets up IAM, subnets and security groups), so the test stops before them.
That is also why the node types declare ``resources`` instead of relying on AWS
auto-detection, and why ``KNOWN_INSTANCE_TYPES`` below holds the counts to compare with.
"""

from __future__ import annotations

import copy
import math
import re
import tomllib
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path, PurePosixPath
from typing import Any

import click
import jsonschema
import pytest
import ray
import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import Version
from ray.autoscaler._private.util import prepare_config, validate_config

REPO = Path(__file__).resolve().parents[2]
CLUSTER_FILES = ("cluster.yaml", "cluster-onprem.yaml")
STUDY_CONFIG = REPO / "configs" / "full.yaml"
PYPROJECT = REPO / "pyproject.toml"

# vCPUs and GPUs of the EC2 instance types a node type may use (AWS instance type pages).
# Add a row when cluster.yaml uses a new type.
KNOWN_INSTANCE_TYPES: dict[str, tuple[int, int]] = {
    "m5.xlarge": (4, 0),
    "m5.2xlarge": (8, 0),
    "m5.4xlarge": (16, 0),
    "g5.xlarge": (4, 1),
    "g5.2xlarge": (8, 1),
    "g5.4xlarge": (16, 1),
    "g5.12xlarge": (48, 4),
    "g5.48xlarge": (192, 8),
    "g6.2xlarge": (8, 1),
    "g6.12xlarge": (48, 4),
    "p3.2xlarge": (8, 1),
    "p3.8xlarge": (32, 4),
}
LOCALHOST = {"127.0.0.1", "localhost", "::1"}
# Ports that give whoever reaches them control of the cluster.
GUARDED_PORTS = {6379: "Ray GCS", 8265: "Ray dashboard and job API", 10001: "Ray Client"}
WORLD = {"0.0.0.0/0", "::/0"}
SECRET_PATTERNS = (
    re.compile(r"AKIA[0-9A-Z]{16}"),
    re.compile(r"aws_secret_access_key", re.IGNORECASE),
    re.compile(r"aws_credentials", re.IGNORECASE),
    re.compile(r"password\s*:", re.IGNORECASE),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
)
COMMAND_LISTS = (
    "initialization_commands",
    "setup_commands",
    "head_setup_commands",
    "worker_setup_commands",
    "head_start_ray_commands",
    "worker_start_ray_commands",
)
RAY_PIN = re.compile(r"""\bray(?:\[[^\]]*\])?==([0-9][^\s"']*)""")


# ---------------------------------------------------------------- loading


def load_yaml(path: Path) -> dict[str, Any]:
    """The file as Ray's cluster launcher reads it (``yaml.safe_load``)."""
    if not path.exists():
        pytest.fail(f"{path.relative_to(REPO)} does not exist; the cluster tests read it")
    with path.open() as f:
        return yaml.safe_load(f)


def ray_prepared(raw: dict[str, Any]) -> dict[str, Any]:
    """Run Ray's validator as ``ray up`` does, offline; return the config ``ray up`` acts on."""
    config = prepare_config(copy.deepcopy(raw))
    validate_config(config)
    return config


def is_aws(config: dict[str, Any]) -> bool:
    return config["provider"]["type"] == "aws"


def worker_types(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    head = config["head_node_type"]
    return {k: v for k, v in config["available_node_types"].items() if k != head}


def commands(config: dict[str, Any]) -> list[tuple[str, str]]:
    """Every shell command in the config, as (field path, command)."""
    found = []
    for field in COMMAND_LISTS:
        found += [(f"{field}[{i}]", c) for i, c in enumerate(config.get(field) or [])]
    for name, node_type in config["available_node_types"].items():
        for field in ("initialization_commands", "worker_setup_commands"):
            found += [
                (f"available_node_types.{name}.{field}[{i}]", c)
                for i, c in enumerate(node_type.get(field) or [])
            ]
    return found


def setup_lists(config: dict[str, Any]) -> dict[str, list[str]]:
    """The setup each kind of node runs (prepare_config has merged setup_commands in)."""
    lists = {
        "head_setup_commands": config["head_setup_commands"],
        "worker_setup_commands": config["worker_setup_commands"],
    }
    for name, node_type in worker_types(config).items():
        if "worker_setup_commands" in node_type:  # overrides the global lists for this type
            lists[f"available_node_types.{name}.worker_setup_commands"] = node_type[
                "worker_setup_commands"
            ]
    return lists


# ---------------------------------------------------------------- checks


def trials_per_node(gpus: int, cpus: int, cpus_per_trial: float, gpus_per_trial: float) -> int:
    """How many trials Ray can place on one node, counting GPUs first.

    Ray packs fractional GPU requests per device (4 x 0.3 does not fit on one GPU), so a
    trial asking less than one GPU fits ``floor(1 / gpus_per_trial)`` times per GPU.
    """
    if gpus_per_trial > 0:
        g = Fraction(str(gpus_per_trial))
        return gpus * math.floor(1 / g) if g < 1 else math.floor(gpus / g)
    return math.floor(cpus / cpus_per_trial)


def check_instance_resources(config: dict[str, Any], study: dict[str, Any]) -> list[str]:
    """Declared resources equal the instance type's vCPUs and GPUs (AWS only)."""
    if not is_aws(config):
        return []  # the local provider detects each machine's resources itself
    problems = []
    for name, node_type in config["available_node_types"].items():
        instance = node_type["node_config"].get("InstanceType")
        if instance not in KNOWN_INSTANCE_TYPES:
            problems.append(
                f"available_node_types.{name}.node_config.InstanceType is {instance!r}, which "
                f"KNOWN_INSTANCE_TYPES in {Path(__file__).name} does not list; add its vCPU "
                "and GPU counts there"
            )
            continue
        cpus, gpus = KNOWN_INSTANCE_TYPES[instance]
        declared = node_type["resources"]
        if (declared.get("CPU"), declared.get("GPU", 0)) != (cpus, gpus):
            problems.append(
                f"available_node_types.{name}.resources is {declared}, but a {instance} has "
                f"{cpus} vCPUs and {gpus} GPU(s); declare CPU: {cpus}, GPU: {gpus}"
            )
    return problems


def check_trials_fit(config: dict[str, Any], study: dict[str, Any]) -> list[str]:
    """Every worker type fits at least one trial, with CPUs for all the trials its GPUs fit."""
    if not is_aws(config):
        return []
    cpus_per_trial = study["resources"]["cpus_per_trial"]
    gpus_per_trial = study["resources"]["gpus_per_trial"]
    ask = f"configs/full.yaml asks cpus_per_trial={cpus_per_trial}, gpus_per_trial={gpus_per_trial}"
    problems = []
    for name, node_type in worker_types(config).items():
        cpus = node_type["resources"].get("CPU", 0)
        gpus = node_type["resources"].get("GPU", 0)
        n = trials_per_node(gpus, cpus, cpus_per_trial, gpus_per_trial)
        if n < 1:
            problems.append(
                f"available_node_types.{name}.resources is {node_type['resources']}, which fits "
                f"no trial ({ask}); use a bigger instance type or remove the node type"
            )
        elif cpus < n * cpus_per_trial:
            problems.append(
                f"available_node_types.{name}.resources.CPU is {cpus}, but its {gpus} GPU(s) fit "
                f"{n} trials needing {n * cpus_per_trial} CPUs ({ask}); use an instance type "
                "with more vCPUs per GPU or lower resources.cpus_per_trial"
            )
    if not any(t.get("max_workers", 0) > 0 for t in worker_types(config).values()):
        problems.append("no worker type has max_workers > 0; trials would never get a node")
    return problems


def check_gpu_min_workers(config: dict[str, Any], study: dict[str, Any]) -> list[str]:
    """GPU node types scale from zero (AWS only: on-premise machines are always there)."""
    if not is_aws(config):
        return []
    return [
        f"available_node_types.{name}.min_workers is {t['min_workers']}, but GPU nodes bill "
        "while idle; set min_workers: 0 so the autoscaler starts them only for trials"
        for name, t in worker_types(config).items()
        if t["resources"].get("GPU", 0) > 0 and t["min_workers"] != 0
    ]


def rule_ports(rule: dict[str, Any]) -> range:
    if str(rule.get("IpProtocol", "-1")) in ("-1", "all"):
        return range(0, 65536)
    return range(rule.get("FromPort", 0), rule.get("ToPort", 65535) + 1)


def check_ports_closed(config: dict[str, Any], study: dict[str, Any]) -> list[str]:
    """No security group rule opens a Ray port to the whole internet."""
    rules = config["provider"].get("security_group", {}).get("IpPermissions", [])
    problems = []
    for i, rule in enumerate(rules):
        sources = {r.get("CidrIp") for r in rule.get("IpRanges", [])}
        sources |= {r.get("CidrIpv6") for r in rule.get("Ipv6Ranges", [])}
        for port, what in GUARDED_PORTS.items():
            for source in sorted(sources & WORLD):
                if port in rule_ports(rule):
                    problems.append(
                        f"provider.security_group.IpPermissions[{i}] opens port {port} ({what}) "
                        f"to {source}; remove the rule and reach it through SSH "
                        "(`ray dashboard cluster.yaml`, `ray attach cluster.yaml -p 10001`)"
                    )
    return problems


def check_dashboard_localhost(config: dict[str, Any], study: dict[str, Any]) -> list[str]:
    """The head's `ray start --head` binds the dashboard to localhost, explicitly."""
    starts = [
        (i, c)
        for i, c in enumerate(config["head_start_ray_commands"])
        if "ray start" in c and "--head" in c
    ]
    if not starts:
        return ["head_start_ray_commands has no `ray start --head`; add one"]
    problems = []
    for i, command in starts:
        hosts = re.findall(r"--dashboard-host[= ](\S+)", command)
        if not hosts:
            problems.append(
                f"head_start_ray_commands[{i}] does not set --dashboard-host; add "
                "--dashboard-host=127.0.0.1 (Ray's AWS defaults use 0.0.0.0)"
            )
        problems += [
            f"head_start_ray_commands[{i}] binds the dashboard to {host}; set "
            "--dashboard-host=127.0.0.1 and reach it with `ray dashboard`"
            for host in hosts
            if host not in LOCALHOST
        ]
    return problems


def check_token_auth(config: dict[str, Any], study: dict[str, Any]) -> list[str]:
    """Every `ray start` runs with RAY_AUTH_MODE=token and every node gets the token file."""
    problems = []
    for where, command in commands(config):
        for mode in re.findall(r"RAY_AUTH_MODE=[\"']?(\w*)", command):
            if mode != "token":
                problems.append(
                    f"{where} sets RAY_AUTH_MODE={mode}; Ray's token authentication must stay "
                    "on: use RAY_AUTH_MODE=token"
                )
    for field in ("head_start_ray_commands", "worker_start_ray_commands"):
        for i, command in enumerate(config[field]):
            start = command.find("ray start")
            if start >= 0 and "RAY_AUTH_MODE=token" not in command[:start]:
                problems.append(
                    f"{field}[{i}] starts Ray without RAY_AUTH_MODE=token; begin it with "
                    "`export RAY_AUTH_MODE=token;`"
                )
    if "~/.ray/auth_token" not in config["file_mounts"]:
        problems.append(
            "file_mounts has no ~/.ray/auth_token; add `~/.ray/auth_token: ~/.ray/auth_token` "
            "so that every node gets the token"
        )
    return problems


def check_installs_jetstudy(config: dict[str, Any], study: dict[str, Any]) -> list[str]:
    """Every kind of node pip-installs the synced checkout of this repository."""
    repo_mounts = [
        remote.rstrip("/")
        for remote, local in config["file_mounts"].items()
        if local.rstrip("/") in (".", "") or Path(local).expanduser().resolve() == REPO
    ]
    if not repo_mounts:
        return ["file_mounts does not sync the repository; add `~/jetstudy: .`"]
    problems = []
    for field, cmds in setup_lists(config).items():
        if not any(
            "pip install" in c and re.search(rf"-e\s+{re.escape(m)}/?(\s|$)", c)
            for c in cmds
            for m in repo_mounts
        ):
            problems.append(
                f"{field} never runs `pip install -e {repo_mounts[0]}` (the synced checkout), so "
                "those nodes cannot import jetstudy; add it to setup_commands"
            )
    return problems


def check_ray_pin(config: dict[str, Any], study: dict[str, Any]) -> list[str]:
    """Every kind of node installs exactly the Ray this machine runs.

    `ray up`, `ray job submit` and the cluster must agree on Ray's version; this machine's
    version is the one the validator above and the pyproject range were checked with.
    """
    problems = []
    for field, cmds in setup_lists(config).items():
        pins = [v for c in cmds for v in RAY_PIN.findall(c)]
        if not pins:
            problems.append(
                f"{field} installs no pinned Ray; add ray[default,tune]=={ray.__version__}"
            )
        problems += [
            f"{field} installs ray {v}, but this machine runs ray {ray.__version__}; pin "
            f"ray[default,tune]=={ray.__version__} (or install that Ray locally)"
            for v in pins
            if v != ray.__version__
        ]
    return problems


def check_results_storage(config: dict[str, Any], study: dict[str, Any]) -> list[str]:
    """The study's results_dir lies on the storage every node mounts (or on S3)."""
    results_dir = str(study["storage"]["results_dir"])
    if results_dir.startswith("s3://"):
        return []  # nothing to mount; the nodes' instance profile grants the bucket
    mount = (config.get("metadata") or {}).get("jetstudy_results_mount")
    if not mount:
        return [
            "metadata.jetstudy_results_mount is not set; name the shared mount that holds "
            "storage.results_dir"
        ]
    problems = []
    if not PurePosixPath(results_dir).is_relative_to(mount):
        problems.append(
            f"storage.results_dir of configs/full.yaml is {results_dir!r}, which is not under "
            f"the shared mount {mount} (metadata.jetstudy_results_mount); trials on other nodes "
            f"would write to their own disks: put results_dir under {mount}"
        )
    for field, cmds in setup_lists(config).items():
        if not any(mount in c for c in cmds):
            problems.append(f"{field} never mounts or checks {mount}; mount the shared storage")
    return problems


def check_no_secrets(text: str) -> list[str]:
    """Nothing in the file looks like a credential."""
    return [
        f"found {m.group(0)[:8]!r}... (pattern {p.pattern}); remove it: nodes get AWS access "
        "from their instance profile and Ray's token from ~/.ray/auth_token"
        for p in SECRET_PATTERNS
        for m in p.finditer(text)
    ]


CHECKS: tuple[Callable[[dict[str, Any], dict[str, Any]], list[str]], ...] = (
    check_instance_resources,
    check_trials_fit,
    check_gpu_min_workers,
    check_ports_closed,
    check_dashboard_localhost,
    check_token_auth,
    check_installs_jetstudy,
    check_ray_pin,
    check_results_storage,
)


def problems(raw: dict[str, Any], study: dict[str, Any], text: str) -> list[str]:
    """Ray's validator, then every jetstudy check on the config ``ray up`` would act on."""
    config = ray_prepared(raw)
    return check_no_secrets(text) + [p for check in CHECKS for p in check(config, study)]


def ray_version_problems(installed: str, dependencies: list[str]) -> list[str]:
    """The installed Ray is a 2.x inside the pyproject's ray range, which stops before 3."""
    found = []
    if not installed.startswith("2."):
        found.append(f"ray {installed} is installed, but jetstudy is written for Ray 2.x")
    reqs = []
    for dep in dependencies:
        try:
            reqs.append(Requirement(dep))
        except InvalidRequirement:
            continue
    rays = [r for r in reqs if r.name == "ray"]
    if not rays:
        return found + ["pyproject.toml lists no ray dependency; add 'ray[tune]>=2.50,<3'"]
    for req in rays:
        if Version(installed) not in req.specifier:
            found.append(f"ray {installed} is installed, but pyproject.toml asks {req}")
        if Version("3.0") in req.specifier or not req.specifier:
            found.append(f"pyproject.toml asks {req}, which admits Ray 3; bound it with <3")
        if "tune" not in req.extras:
            found.append(f"pyproject.toml asks {req} without the tune extra; use ray[tune]")
    return found


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def study() -> dict[str, Any]:
    return load_yaml(STUDY_CONFIG)


@pytest.fixture(params=CLUSTER_FILES)
def cluster_file(request: pytest.FixtureRequest) -> Path:
    return REPO / request.param


# ---------------------------------------------------------------- the real files


def test_ray_version_matches_pyproject() -> None:
    with PYPROJECT.open("rb") as f:
        dependencies = tomllib.load(f)["project"]["dependencies"]
    assert ray_version_problems(ray.__version__, dependencies) == []


@pytest.mark.parametrize(
    "installed, dependencies, match",
    [
        ("1.13.0", ["ray[tune]>=1.0,<3"], "written for Ray 2.x"),
        ("2.49.0", ["ray[tune]>=2.50,<3"], "asks ray"),
        ("2.60.0", ["ray[tune]>=2.50"], "admits Ray 3"),
        ("2.60.0", ["ray>=2.50,<3"], "without the tune extra"),
        ("2.60.0", ["torch"], "no ray dependency"),
    ],
)
def test_ray_version_problems_are_found(
    installed: str, dependencies: list[str], match: str
) -> None:
    assert any(match in p for p in ray_version_problems(installed, dependencies))


def test_ray_validator_accepts(cluster_file: Path) -> None:
    config = ray_prepared(load_yaml(cluster_file))
    assert config["cluster_name"].startswith("jetstudy")


def test_cluster_file_passes_checks(cluster_file: Path, study: dict[str, Any]) -> None:
    found = problems(load_yaml(cluster_file), study, cluster_file.read_text())
    assert found == [], "\n".join(found)


def test_aws_cluster_has_autoscaling_gpu_types() -> None:
    config = ray_prepared(load_yaml(REPO / "cluster.yaml"))
    gpus = sorted(t["resources"].get("GPU", 0) for t in worker_types(config).values())
    assert gpus == [1, 4], f"expected a 1-GPU and a 4-GPU worker type, got GPUs {gpus}"
    assert config["available_node_types"][config["head_node_type"]]["resources"]["GPU"] == 0


# ---------------------------------------------------------------- every check can fail
# Each case edits one value of a copy: ("cluster" | "study", key, key, ...) -> new value.
# The new value is DELETE (drop the key), a function of the old value, or the value itself.

DELETE = object()
Edit = Callable[[Any], Any]


def sub(old: str, new: str) -> Edit:
    return lambda cmds: [c.replace(old, new) for c in cmds]


def without(text: str) -> Edit:
    return lambda cmds: [c for c in cmds if text not in c]


def plus(rule: dict[str, Any]) -> Edit:
    return lambda rules: [*rules, rule]


def edited(
    name: str, study: dict[str, Any], path: tuple[str, ...], new: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Copies of the cluster file and the study config with one value changed."""
    docs = {"cluster": load_yaml(REPO / name), "study": copy.deepcopy(study)}
    parent = docs
    for key in path[:-1]:
        parent = parent[key]
    if new is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new(parent[path[-1]]) if callable(new) else copy.deepcopy(new)
    return docs["cluster"], docs["study"]


AWS, ONPREM = "cluster.yaml", "cluster-onprem.yaml"
GPU1 = ("cluster", "available_node_types", "gpu_1x_a10g")
GPU4 = ("cluster", "available_node_types", "gpu_4x_a10g")
RULES = ("cluster", "provider", "security_group", "IpPermissions")
HEAD_START = ("cluster", "head_start_ray_commands")
WORKER_START = ("cluster", "worker_start_ray_commands")
SETUP = ("cluster", "setup_commands")
CPU_WORKER = {"node_config": {"InstanceType": "m5.2xlarge"}, "resources": {"CPU": 8, "GPU": 0}}
FAKE_KEY_ID = "AKIA" + "Z" * 16  # built here so that this file holds no key-shaped string
NO_TOKEN = sub("export RAY_AUTH_MODE=token; ", "")

BROKEN = [
    # (file, path, new value, part of the expected message)
    (AWS, ("study", "resources", "gpus_per_trial"), 2, "fits no trial"),
    (AWS, ("study", "resources", "cpus_per_trial"), 4, "resources.CPU is 8"),
    (AWS, (*GPU1, "resources", "GPU"), 0, "a g5.2xlarge has 8 vCPUs and 1 GPU(s)"),
    (AWS, GPU1, CPU_WORKER, "fits no trial"),
    (AWS, (*GPU4, "resources", "CPU"), 32, "has 48 vCPUs"),
    (AWS, (*GPU4, "node_config", "InstanceType"), "x9.huge", "does not list"),
    (AWS, (*GPU1, "min_workers"), 1, "min_workers is 1"),
    (
        AWS,
        RULES,
        plus({"IpProtocol": "tcp", "FromPort": 8265, "ToPort": 8265,
              "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}),
        "opens port 8265",
    ),
    (
        AWS,
        RULES,
        plus({"IpProtocol": "tcp", "FromPort": 10000, "ToPort": 10100,
              "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}),
        "opens port 10001 (Ray Client) to ::/0",
    ),
    (AWS, RULES, plus({"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}), "port 6379"),
    (AWS, HEAD_START, sub("127.0.0.1", "0.0.0.0"), "dashboard to 0.0.0.0"),
    # without its own start commands the file gets Ray's AWS defaults: dashboard on 0.0.0.0
    (AWS, HEAD_START, DELETE, "dashboard to 0.0.0.0"),
    (AWS, WORKER_START, sub("=token", "=disabled"), "RAY_AUTH_MODE=disabled"),
    (AWS, HEAD_START, NO_TOKEN, "without RAY_AUTH_MODE"),
    (AWS, ("cluster", "file_mounts", "~/.ray/auth_token"), DELETE, "no ~/.ray/auth_token"),
    (AWS, ("cluster", "file_mounts", "~/jetstudy"), DELETE, "does not sync the repository"),
    (AWS, SETUP, without("-e ~/jetstudy"), "never runs `pip install -e"),
    (AWS, SETUP, sub("==2.", "==1."), "installs ray 1."),
    (AWS, ("study", "storage", "results_dir"), "/data/results", "not under the shared mount"),
    (AWS, SETUP, without("/mnt/jetstudy"), "never mounts"),
    (AWS, ("cluster", "metadata", "aws_key"), FAKE_KEY_ID, "AKIA"),
    (AWS, ("cluster", "metadata", "aws_secret_access_key"), "x", "aws_secret_access_key"),
    (AWS, ("cluster", "metadata", "password"), "x", "password"),
    (ONPREM, HEAD_START, sub("127.0.0.1", "0.0.0.0"), "dashboard to 0.0.0.0"),
    (ONPREM, WORKER_START, NO_TOKEN, "without RAY_AUTH_MODE"),
    (ONPREM, SETUP, without("-e ~/jetstudy"), "never runs `pip install -e"),
    (ONPREM, ("study", "storage", "results_dir"), "results", "not under the shared mount"),
    (ONPREM, ("cluster", "metadata", "password"), "x", "password"),
]


@pytest.mark.parametrize(
    "name, path, new, match", BROKEN, ids=[f"{c[0]}-{c[1][-1]}-{c[3]}" for c in BROKEN]
)
def test_broken_copy_is_rejected(
    name: str, path: tuple[str, ...], new: Any, match: str, study: dict[str, Any]
) -> None:
    cluster, broken_study = edited(name, study, path, new)
    found = problems(cluster, broken_study, yaml.safe_dump(cluster))
    assert any(match in p for p in found), f"no problem mentions {match!r}: {found}"


INVALID = [
    # (file, path, new value, exception Ray raises, part of its message)
    (AWS, (*GPU1, "resources", "GPU"), 0.5, jsonschema.ValidationError, "integer"),
    (AWS, ("cluster", "workers"), 3, jsonschema.ValidationError, "'workers' was unexpected"),
    (AWS, (*GPU1, "resources"), DELETE, jsonschema.ValidationError, "'resources' is a required"),
    (AWS, ("cluster", "head_node_type"), "gpu_head", ValueError, "head_node_type"),
    (AWS, (*GPU1, "min_workers"), 9, ValueError, "max_workers"),
    (ONPREM, ("cluster", "available_node_types"), {"gpu": {}}, click.ClickException, "supported"),
    (ONPREM, ("cluster", "provider", "head_ip"), DELETE, click.ClickException, "head_ip"),
]


@pytest.mark.parametrize(
    "name, path, new, error, match", INVALID, ids=[f"{c[0]}-{c[1][-1]}-{c[4]}" for c in INVALID]
)
def test_ray_validator_rejects(
    name: str, path: tuple[str, ...], new: Any, error: type[Exception], match: str
) -> None:
    cluster, _ = edited(name, {}, path, new)
    with pytest.raises(error, match=re.escape(match)):
        ray_prepared(cluster)
