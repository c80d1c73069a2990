"""Join a Ray cluster (``resources.address``) with a deadline and one clear error.

``ray.init(address=...)`` on an address where no Ray answers waits for minutes, printing C++
warnings; ``ray://`` without the Ray Client extra ends in a traceback. So before Ray is asked
to connect, :func:`connect` checks the address's form, that the extra is installed, and, in
a daemon thread bounded by :func:`connect_timeout_s` (``JETSTUDY_CONNECT_TIMEOUT_S``, default
30 s), that something answers: a TCP connection, and for a cluster address the cluster's
control store (GCS) itself. Only then does ``ray.init`` run. Every failure is one
:class:`~jetstudy.trainables.errors.ConfigError` naming the address, what happened and the fix.

>>> connect("10.0.0.5:6379", log_to_driver=False)  # doctest: +SKIP
ConfigError: resources.address '10.0.0.5:6379': nothing answers there (connection refused) ...
"""

from __future__ import annotations

import logging
import math
import os
import re
import socket
import threading
from dataclasses import dataclass
from typing import Any, Callable

# a local Ray's start lives in connect_local; imported from here by callers and tests
from jetstudy.study.connect_local import (file_size_limit, limit_is_why,
                                          object_store_bytes, refuse_file_size_limit,
                                          start_local)
from jetstudy.trainables.errors import ConfigError

__all__ = ["CONNECT_TIMEOUT_ENV", "DEFAULT_CONNECT_TIMEOUT_S", "RayAddress", "parse_address",
           "connect_timeout_s", "check_address", "check_reachable", "connect", "start_local",
           "file_size_limit", "object_store_bytes", "refuse_file_size_limit", "limit_is_why"]

logger = logging.getLogger(__name__)

#: Environment variable with the seconds jetstudy waits for a cluster to answer.
CONNECT_TIMEOUT_ENV = "JETSTUDY_CONNECT_TIMEOUT_S"
DEFAULT_CONNECT_TIMEOUT_S = 30.0
#: Its bounds: below a second no cluster answers; above a day an unreachable one is a hang.
MIN_CONNECT_TIMEOUT_S, MAX_CONNECT_TIMEOUT_S = 1.0, 86400.0

_FORMS = ("'auto' (the cluster this machine belongs to), 'HOST:PORT' (the head's GCS, "
          "e.g. 10.0.0.5:6379) or 'ray://HOST:PORT' (Ray Client, e.g. ray://127.0.0.1:10001)")
_HOST_PORT = re.compile(r"^(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(?P<port>[0-9]{1,5})$")


@dataclass(frozen=True)
class RayAddress:
    """A parsed ``resources.address``: ``kind`` is ``auto``, ``gcs`` or ``client``."""
    text: str
    kind: str
    host: str = ""
    port: int = 0


def _field(address: str) -> str:
    return f"resources.address {address!r}"


def _address_hint(kind: str, rest: str) -> str:
    """What a near-miss address meant: 'auto' in capitals, a host without its port, a port
    out of range, a trailing '/', several addresses, user@ in a ray:// address."""
    scheme = "ray://" if kind == "client" else ""
    port = "10001" if kind == "client" else "6379"
    if rest.lower() == "auto":
        return " (did you mean 'auto'? It is written in lower case)"
    if rest.lower() in ("local", "none", "null", "off", "no", "false"):
        return " (a local Ray is started when resources.address is unset: write null, or drop it)"
    if "," in rest or " " in rest:
        return " (one address: the head's; Ray finds the other nodes itself)"
    if "@" in rest:
        return f" (no user@ part: write {scheme}{rest.split('@', 1)[1]})"
    if rest.endswith("/") and _HOST_PORT.match(rest.rstrip("/")):
        return f" (no trailing '/': write {scheme}{rest.rstrip('/')})"
    found = _HOST_PORT.match(rest)
    if found:
        return f" (port {int(found['port'])} is outside 1..65535)"
    if re.fullmatch(r"\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+", rest):
        return (f" (no port: {scheme}{rest}:{port} is Ray's default "
                f"{'Ray Client' if kind == 'client' else 'GCS'} port)")
    return ""


def parse_address(address: str) -> RayAddress:
    """Check the form of ``resources.address`` (``--address``)."""
    text = address.strip()
    if text == "auto":
        return RayAddress(text, "auto")
    if text.startswith(("http://", "https://")):
        raise ConfigError(
            f"{_field(address)} is the dashboard / job API address, which runs jobs but "
            f"cannot run a driver; submit with `ray job submit --address {text} -- jetstudy "
            f"run ... --address auto`, or set resources.address to {_FORMS}")
    kind, rest = ("client", text[len("ray://"):]) if text.startswith("ray://") else ("gcs", text)
    match = _HOST_PORT.match(rest)
    if not match or not 0 < int(match["port"]) < 65536:
        raise ConfigError(f"{_field(address)} is not a Ray address{_address_hint(kind, rest)}; "
                          f"set it to {_FORMS}, or leave it unset (null) to start a local Ray")
    return RayAddress(text, kind, match["host"].strip("[]"), int(match["port"]))


def connect_timeout_s() -> float:
    """Seconds to wait for a cluster to answer (``JETSTUDY_CONNECT_TIMEOUT_S``)."""
    raw = os.environ.get(CONNECT_TIMEOUT_ENV, "")
    if not raw.strip():
        return DEFAULT_CONNECT_TIMEOUT_S
    try:
        value, unreadable = float(raw), False
    except ValueError:
        value, unreadable = -1.0, True
    if not 0 < value < math.inf:  # inf (or 1e400) waits forever on an unreachable cluster
        from jetstudy.study.check_hints import value_hint
        from jetstudy.study.checks import Float

        hint = (" (a finite one: infinity waits forever)" if value == math.inf else
                value_hint("timeout_s", Float(lo=0.0), raw.strip()) if unreadable else "")
        raise ConfigError(f"{CONNECT_TIMEOUT_ENV} must be a number of seconds > 0, got "
                          f"{raw!r}{hint}; set e.g. {CONNECT_TIMEOUT_ENV}=30")
    if not MIN_CONNECT_TIMEOUT_S <= value <= MAX_CONNECT_TIMEOUT_S:
        raise ConfigError(
            f"{CONNECT_TIMEOUT_ENV} is {raw.strip()!r} seconds: "
            + ("too short for any cluster to answer (every connect would fail as unreachable)"
               if value < MIN_CONNECT_TIMEOUT_S else
               "more than a day, as good as forever on an unreachable cluster")
            + f"; set {MIN_CONNECT_TIMEOUT_S:g} to {MAX_CONNECT_TIMEOUT_S:g}, e.g. "
              f"{CONNECT_TIMEOUT_ENV}=30 (or unset it for 30)")
    return value


def _client_extra_missing() -> bool:
    try:
        import grpc  # noqa: F401  (what Ray Client needs beyond plain `ray`)
    except ImportError:
        return True
    return False


def _ray_version() -> str:
    import ray

    return ray.__version__


def _resolve_auto() -> str:
    """``auto``: the cluster this machine belongs to, and only one that ``ray start`` / ``ray
    up`` (or a Ray job) made: ``RAY_ADDRESS`` when it is a HOST:PORT (a Ray job's driver gets
    it), else the address ``ray start`` recorded (``/tmp/ray/ray_current_cluster``). Never
    Ray's legacy fallback of joining any Ray process found running here (e.g. another user's
    ``ray.init()``). A ConfigError when there is none."""
    from ray._private.utils import get_ray_address_file, read_ray_address

    env = os.environ.get("RAY_ADDRESS", "").strip()
    if env and env != "auto" and _HOST_PORT.match(env):
        return env
    try:
        found = read_ray_address()
    except OSError:
        found = None
    if not found:
        raise ConfigError(
            f"{_field('auto')}: no Ray cluster started with `ray start` or `ray up` was found "
            f"on this machine ({get_ray_address_file(None)} is missing); start one with "
            f"`ray start --head`, pass the head's address (HOST:6379 or ray://HOST:10001), or "
            f"leave resources.address unset to start a local Ray")
    return found


def _tcp_answers(host: str, port: int, timeout: float) -> str | None:
    """None when a TCP connection opens, else why not (refused, unreachable, unknown host)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except socket.gaierror as exc:
        return f"unknown host {host!r} ({exc.strerror or exc})"
    except socket.timeout:
        return "no answer"
    except OSError as exc:
        return (exc.strerror or str(exc)).lower()


def _gcs_answers(address: str, timeout: float) -> None:
    """Ask the cluster's GCS for its session name (raises when it cannot answer)."""
    import ray

    client = ray._raylet.GcsClient(address=address)
    client.internal_kv_get(b"session_name", namespace=b"session", timeout=timeout)


#: probe threads the deadline left running (stuck in Ray's C++ GCS client)
_LEFT_RUNNING: list[threading.Thread] = []


def probe_left_running() -> bool:
    """A connection probe is still stuck in Ray's C++ client: the interpreter's normal exit
    would tear Python down under that thread (seen as a segmentation fault), so a program
    ending now should leave with ``os._exit`` (the command line does)."""
    return any(t.is_alive() for t in _LEFT_RUNNING)


def _within(seconds: float, work: Callable[[], Any]) -> tuple[bool, Any, BaseException | None]:
    """Run ``work`` in a daemon thread; (finished, result, error). A call that never returns
    stays behind in its daemon thread and does not keep the process alive."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = work()
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=run, name="jetstudy-connect-probe", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        _LEFT_RUNNING.append(thread)
    return not thread.is_alive(), box.get("result"), box.get("error")


def _probe(addr: RayAddress, timeout: float) -> None:
    """Raise a ConfigError unless a Ray cluster answers at ``addr`` within ``timeout``."""
    def check() -> None:
        target = _resolve_auto() if addr.kind == "auto" else f"{addr.host}:{addr.port}"
        host, _, port = target.rpartition(":")
        why = _tcp_answers(host.strip("[]"), int(port), timeout)
        if why is not None:
            raise ConfigError(
                f"{_field(addr.text)}: nothing answers at {target} ({why}); check that the "
                f"cluster is up (`ray status` on its head) and that this machine can reach that "
                f"port, or leave resources.address unset to start a local Ray")
        if addr.kind != "client":  # its own timeout past the deadline: silence is a timeout
            _gcs_answers(target, 2 * timeout)

    finished, _, error = _within(timeout, check)
    if not finished:
        raise ConfigError(
            f"{_field(addr.text)}: the Ray cluster did not answer within {timeout:g} s; check "
            f"the address (a Ray head's GCS port, 6379 by default) and that the cluster is up, "
            f"or wait longer with {CONNECT_TIMEOUT_ENV}=120")
    if isinstance(error, ConfigError):
        raise error
    if error is not None:
        detail = str(error).strip().splitlines()
        if any("auth" in line.lower() for line in detail):
            raise ConfigError(
                f"{_field(addr.text)}: the Ray cluster there refused this machine's "
                f"authentication token; export RAY_AUTH_MODE=token with the cluster's token in "
                f"~/.ray/auth_token (see docs/cluster.md, 'Prerequisites')")
        raise ConfigError(
            f"{_field(addr.text)}: something answers, but not as a Ray {_ray_version()} "
            f"cluster ({detail[-1] if detail else type(error).__name__}); "
            f"check the port (the head's GCS, 6379 by default) and that the cluster runs the "
            f"same Ray version")


def check_address(address: str | None) -> None:
    """What can be checked of ``resources.address`` without contacting it (its form, the Ray
    Client extra, the timeout setting): run before any data is prepared."""
    if not address:
        return
    addr = parse_address(address)
    if addr.kind == "client" and _client_extra_missing():
        raise ConfigError(
            f"{_field(address)} needs Ray Client, which this installation lacks; install it "
            f"with: pip install \"ray[client]=={_ray_version()}\" (or join from the head "
            f"node with --address auto)")
    connect_timeout_s()


def check_reachable(address: str | None) -> None:
    """:func:`check_address`, then that a Ray cluster answers at ``address`` (the probe
    :func:`connect` makes): ``jetstudy run`` calls it before it claims the study folder or reads
    any data, so a dead cluster or a wrong port is said at once and leaves nothing behind (it
    was found only when Ray was joined, after the jets were read and written into a named
    study's folder). :func:`connect` probes again: the cluster may go in between."""
    if not address:
        return
    check_address(address)
    _probe(parse_address(address), connect_timeout_s())


def _stops_held() -> Any:
    from jetstudy.study.interrupts import stops_held_for_ray_init

    return stops_held_for_ray_init()


def connect(address: str, **init_kwargs: Any) -> None:
    """``ray.init(address=address, **init_kwargs)``, after checking that a cluster answers there
    (see the module docstring); every failure is one ConfigError."""
    import ray

    check_address(address)
    addr = parse_address(address)
    timeout = connect_timeout_s()
    _probe(addr, timeout)
    # auto: join exactly the cluster _resolve_auto found (ray.init's own "auto" would fall
    # back to any Ray process running here)
    target = _resolve_auto() if addr.kind == "auto" else addr.text
    try:
        # a Ctrl-C / SIGTERM while Ray joins waits for it (Ray's own SIGTERM handler, set
        # inside ray.init, swallowed one and the study ran on); a second one still stops it
        with _stops_held():
            ray.init(address=target, **init_kwargs)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{_field(address)}: Ray could not join the cluster ({reason}); "
                          f"check the address and that the cluster runs Ray "
                          f"{_ray_version()}") from None
