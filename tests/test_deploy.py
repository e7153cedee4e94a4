"""deploy/: the files an admin copies are valid for the tools that read them.

The systemd units are checked by `systemd-analyze verify` as written (in a throw-away
root that has the unit directory of this host and a stand-in /opt/mailfeed/bin/mailfeed,
since verify insists that ExecStart= exists); the compose file is parsed as YAML and its
settings checked against `Settings`; the nginx example must name the reader in the
header `AUTH=proxy` reads, and must pass `nginx -t` where nginx is installed. `serve`
runs with its worker pool under the kernel's W^X lock (PR_SET_MDWE), which is what the
units' MemoryDenyWriteExecute= asks of it.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shlex
import shutil
import signal
import smtplib
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from gateway.config import Settings
from gateway.store.db import open_store
from tests.helpers import add_feed, make_mail, wait_for
from tests.seccomp import sandbox_env
from tests.servers import free_port, wait_for_port
from tests.serving import serve_env, serving

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = sorted(p for p in DEPLOY.iterdir() if p.suffix in (".service", ".timer"))
SERVICES = [p for p in UNITS if p.suffix == ".service"]
SYSTEMD_ANALYZE = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"
EXEC = "/opt/mailfeed/bin/mailfeed"
SETTING_NAMES = {f"MAILFEED_{name.upper()}" for name in Settings.model_fields} | {"MAILFEED_CONFIG"}


def unit_settings(path: Path) -> dict[str, list[str]]:
    """`Key=value` lines of a unit file, every value of a key kept in order (no sections)."""
    out: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        out.setdefault(key.strip(), []).append(value.strip())
    return out


# systemd ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def unit_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root for `systemd-analyze --root`: this host's units, ours, and a stand-in mailfeed."""
    if not os.access(SYSTEMD_ANALYZE, os.X_OK):
        pytest.fail("systemd-analyze not found: run `make system-deps` (Debian package `systemd`)")
    root = tmp_path_factory.mktemp("unit-root")
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    stub = root / EXEC.lstrip("/")
    stub.parent.mkdir(parents=True)
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    (root / "etc/systemd/system").mkdir(parents=True)
    return root


def verify(root: Path, *units: Path) -> subprocess.CompletedProcess[str]:
    """`systemd-analyze verify` on copies of `units` placed in root's /etc/systemd/system."""
    target = root / "etc/systemd/system"
    for old in target.iterdir():
        old.unlink()
    for unit in UNITS:  # a timer is verified together with the service it starts
        shutil.copy(unit, target / unit.name)
    for unit in units:
        shutil.copy(unit, target / unit.name)
    return subprocess.run(
        [SYSTEMD_ANALYZE, "verify", f"--root={root}", *(str(target / u.name) for u in units)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def complaints(result: subprocess.CompletedProcess[str], unit: Path) -> list[str]:
    """What verify said about `unit` (it may also grumble about this host's own units)."""
    return [line for line in (result.stdout + result.stderr).splitlines() if unit.name in line]


@pytest.mark.parametrize("unit", UNITS, ids=[u.name for u in UNITS])
def test_unit_passes_systemd_analyze_verify(unit_root: Path, unit: Path) -> None:
    result = verify(unit_root, unit)
    assert result.returncode == 0 and not complaints(result, unit), result.stdout + result.stderr


def test_verify_catches_a_broken_unit(unit_root: Path, tmp_path: Path) -> None:
    """The check above can fail: a missing binary fails verify, a misspelt key is reported."""
    text = (DEPLOY / "mailfeed.service").read_text()
    missing = tmp_path / "missing-binary.service"
    missing.write_text(text.replace(f"ExecStart={EXEC} ", f"ExecStart={EXEC}-nope "))
    assert verify(unit_root, missing).returncode != 0
    typo = tmp_path / "typo.service"
    typo.write_text(text.replace("ProtectSystem=strict", "ProtectSytem=strict"))
    assert any("Unknown key 'ProtectSytem'" in line for line in complaints(verify(unit_root, typo), typo))


@pytest.mark.parametrize("unit", SERVICES, ids=[u.name for u in SERVICES])
def test_services_are_hardened_and_share_one_user(unit: Path) -> None:
    s = unit_settings(unit)
    expected = {
        "DynamicUser": "yes",
        "User": "mailfeed",
        "StateDirectory": "mailfeed",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "NoNewPrivileges": "yes",
        "CapabilityBoundingSet": "",
        "MemoryDenyWriteExecute": "yes",
        "RestrictNamespaces": "yes",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "SystemCallArchitectures": "native",
        "Environment": "MAILFEED_DATA_DIR=/var/lib/mailfeed",
    }
    for key, value in expected.items():
        assert s.get(key, [None])[-1] == value, f"{unit.name}: {key}={s.get(key)}"
    assert s["SystemCallFilter"][0] == "@system-service"
    command = {
        "mailfeed.service": "serve",
        "mailfeed-imap-sync.service": "imap sync",
        "mailfeed-digest.service": "digest send",
    }[unit.name]
    assert s["ExecStart"] == [f"{EXEC} {command}"]


@pytest.mark.parametrize("unit", SERVICES, ids=[u.name for u in SERVICES])
def test_services_expose_little(unit_root: Path, unit: Path) -> None:
    """`systemd-analyze security` rates each service "OK" or better (exposure below 2)."""
    verify(unit_root, unit)  # places the units in the root
    result = subprocess.run(
        [
            SYSTEMD_ANALYZE,
            "security",
            "--offline=yes",
            f"--root={unit_root}",
            str(unit_root / "etc/systemd/system" / unit.name),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) < 2.0, result.stdout


def test_timers_start_their_service() -> None:
    for timer in (p for p in UNITS if p.suffix == ".timer"):
        assert (DEPLOY / f"{timer.stem}.service").is_file()
        s = unit_settings(timer)
        assert s.get("WantedBy") == ["timers.target"]
        assert "OnCalendar" in s or "OnUnitActiveSec" in s


def test_timer_services_say_serve_already_does_it() -> None:
    for name in ("mailfeed-imap-sync.service", "mailfeed-digest.service"):
        text = " ".join((DEPLOY / name).read_text().split())
        assert "`mailfeed serve` (mailfeed.service) already does this" in text


# container -------------------------------------------------------------------


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Containerfile, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_containerfile_runs_serve_as_non_root_with_a_health_check() -> None:
    steps = instructions(DEPLOY / "Containerfile")
    assert steps[0] == ("FROM", "python:3.11-slim")
    [cmd] = [args for word, args in steps if word == "CMD"]
    assert json.loads(cmd) == ["mailfeed", "serve"]
    [user] = [args for word, args in steps if word == "USER"]
    assert user.split(":")[0] not in ("root", "0")
    [expose] = [args for word, args in steps if word == "EXPOSE"]
    assert set(expose.split()) == {"2525", "8025"}
    assert any(word == "RUN" and "pip install ." in args for word, args in steps)
    env = dict(pair.split("=", 1) for word, args in steps if word == "ENV" for pair in shlex.split(args))
    assert env["MAILFEED_HTTP_HOST"] == "0.0.0.0"
    assert {k for k in env if k.startswith("MAILFEED_")} <= SETTING_NAMES


def healthcheck_code() -> str:
    [check] = [args for word, args in instructions(DEPLOY / "Containerfile") if word == "HEALTHCHECK"]
    argv = json.loads(check[check.index("CMD") + 3 :].strip())
    assert argv[:2] == ["python", "-c"] and "/healthz" in argv[2]
    return str(argv[2])


@pytest.mark.slow
def test_containerfile_copies_enough_to_build_the_wheel(tmp_path: Path) -> None:
    """`pip install .` in the image sees only what COPY put there; that must build."""
    context = tmp_path / "src"
    context.mkdir()
    for word, args in instructions(DEPLOY / "Containerfile"):
        if word == "COPY":
            *sources, _ = args.split()
            for src in sources:
                path = ROOT / src
                (shutil.copytree if path.is_dir() else shutil.copy)(path, context / src)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            str(context),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert list((tmp_path / "dist").glob("mailfeed-*.whl"))


def test_compose_has_the_services_the_readme_names() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    readme = (DEPLOY / "README.md").read_text()
    named = set(re.findall(r"services `(\w+)`[^`]*`(\w+)`", readme)[0])
    assert set(services) == named == {"postgres", "mailfeed"}
    pg, app = services["postgres"], services["mailfeed"]
    assert pg["image"] == "postgres:15" and "pg_isready" in " ".join(pg["healthcheck"]["test"])
    assert pg["volumes"] and pg["volumes"][0].split(":")[0] in compose["volumes"]
    assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert (DEPLOY / app["build"]["context"] / app["build"]["dockerfile"]).resolve() == DEPLOY / "Containerfile"
    env = app["environment"]
    assert env["MAILFEED_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in env["MAILFEED_DATABASE_URL"]
    assert env["MAILFEED_AUTH"] in ("proxy", "email")
    assert set(env) <= SETTING_NAMES
    # values that validate; ${NAME:-default} is what compose puts there unless NAME is set
    trusted = re.fullmatch(r"\$\{MAILFEED_PROXY_TRUSTED:-([^}]+)\}", env["MAILFEED_PROXY_TRUSTED"])
    assert trusted, env["MAILFEED_PROXY_TRUSTED"]  # set from the environment: rootless runtimes need another
    Settings(auth=env["MAILFEED_AUTH"], proxy_trusted=trusted.group(1))
    readme = " ".join((DEPLOY / "README.md").read_text().split())
    assert f"`{trusted.group(1)}`, the default in `compose.yaml`" in readme and "Rootless Podman" in readme
    assert {p.rsplit(":", 1)[1] for p in app["ports"]} == {"2525", "8025"}


# MTA and proxy ---------------------------------------------------------------


def test_postfix_relays_the_team_domain_to_the_smtp_port() -> None:
    main_cf = (DEPLOY / "postfix/main.cf.snippet").read_text()
    for key in ("relay_domains", "transport_maps", "relay_recipient_maps", "recipient_delimiter"):
        assert re.search(rf"^{key} = \S", main_cf, re.M), key
    transport = [
        line.split()
        for line in (DEPLOY / "postfix/transport").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert transport == [["teams.example.com", f"smtp:[127.0.0.1]:{Settings().smtp_port}"]]
    exim = (DEPLOY / "exim.md").read_text()
    assert "driver = manualroute" in exim and f"port = {Settings().smtp_port}" in exim


def test_postfix_recipient_map_recipe_lists_the_feed_addresses(tmp_path: Path) -> None:
    """The snippet's pipeline, run as written on real `mailfeed feed list` output, gives one
    "address<TAB>OK" line per feed: with the slugs instead, Postfix would refuse every team address."""
    main_cf = (DEPLOY / "postfix/main.cf.snippet").read_text()
    [recipe] = [line.lstrip("# ") for line in main_cf.splitlines() if "mailfeed feed list |" in line]
    target = "/etc/postfix/mailfeed_recipients"
    assert recipe.startswith("mailfeed feed list |") and recipe.endswith(f"> {target}"), recipe
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFEED_")}
    env["MAILFEED_DATA_DIR"] = str(tmp_path / "data")
    feeds = [("team", "team@teams.example.com", "The team"), ("ops", "Ops.Desk@teams.example.com", "Ops: on call")]
    for slug, address, title in feeds:
        subprocess.run(
            [sys.executable, "-m", "gateway", "feed", "add", slug, address, "--title", title],
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
    command = recipe.replace("mailfeed ", f"{shlex.quote(sys.executable)} -m gateway ", 1)
    command = command.replace(target, shlex.quote(str(tmp_path / "mailfeed_recipients")))
    subprocess.run(["sh", "-c", command], env=env, check=True, capture_output=True, timeout=120)
    lines = (tmp_path / "mailfeed_recipients").read_text().splitlines()
    assert sorted(lines) == sorted(f"{address.lower()}\tOK" for _, address, _ in feeds)  # stored lower-case
    assert f"postmap {target}" in main_cf


def nginx_locations(conf: str) -> dict[str, str]:
    """Each `location … { … }` body by its pattern (the example nests no braces but `if`)."""
    out = {}
    for m in re.finditer(r"location\s+([^{]+?)\s*\{((?:[^{}]|\{[^{}]*\})*)\}", conf):
        out[m.group(1)] = m.group(2)
    return out


def test_nginx_names_the_reader_in_the_header_proxy_auth_reads() -> None:
    conf = (DEPLOY / "nginx/mailfeed.conf").read_text()
    header = Settings().proxy_header
    assert Settings().http_port == 8025 and "server 127.0.0.1:8025;" in conf
    locations = nginx_locations(conf)
    main = locations["/"]
    assert "auth_request /oauth2/auth;" in main
    assert "auth_request_set $email $upstream_http_x_auth_request_email;" in main
    assert f"proxy_set_header {header} $email;" in main
    # every other location that reaches mailfeed inherits the server-wide empty header,
    # which drops a client's own: it must set no proxy_set_header of its own
    server = conf[conf.index("listen 443") :]
    server_level = server[: re.search(r"^\s*location\s", server, re.M).start()]  # type: ignore[union-attr]
    assert f'proxy_set_header {header} "";' in server_level
    for pattern, body in locations.items():
        if "proxy_pass http://mailfeed" in body and pattern != "/":
            assert "proxy_set_header" not in body, pattern


NGINX_ACCESS_LOG = "/var/log/nginx/mailfeed.access.log"


def nginx_config(tmp_path: Path, ports: tuple[int, int, int] | None = None) -> tuple[str, Path]:
    """nginx and a configuration holding the example as a site, as Debian's nginx.conf includes sites.

    The certificate is made here, the logs and temp files go to tmp_path, the http block keeps nginx's
    default access log (the combined format) for the site to override. With `ports` (http, https,
    mailfeed's), the site listens on 127.0.0.1 only, on those ports, and proxies to the last.
    """
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if nginx is None:
        pytest.fail("nginx not found: run `make system-deps` (Debian package `nginx`)")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=feed.example.com",
            "-keyout",
            str(tmp_path / "key.pem"),
            "-out",
            str(tmp_path / "cert.pem"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    site = (DEPLOY / "nginx/mailfeed.conf").read_text()
    site = site.replace("/etc/letsencrypt/live/feed.example.com/fullchain.pem", str(tmp_path / "cert.pem"))
    site = site.replace("/etc/letsencrypt/live/feed.example.com/privkey.pem", str(tmp_path / "key.pem"))
    site = site.replace(NGINX_ACCESS_LOG, str(tmp_path / "mailfeed.access.log"))
    if ports:
        http, https, app = ports
        for old, new in [
            ("listen 80;", f"listen 127.0.0.1:{http};"),
            ("listen 443 ssl http2;", f"listen 127.0.0.1:{https} ssl http2;"),
            ("listen [::]:80;", ""),
            ("listen [::]:443 ssl http2;", ""),
            ("server 127.0.0.1:8025;", f"server 127.0.0.1:{app};"),
        ]:
            assert old in site, old
            site = site.replace(old, new)
    (tmp_path / "site.conf").write_text(site)
    temp = " ".join(f"{k}_temp_path {tmp_path};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log; events {{}}\n"
        f"http {{ access_log {tmp_path}/default.access.log; {temp} include {tmp_path}/site.conf; }}\n"
    )
    return nginx, tmp_path / "nginx.conf"


def test_nginx_accepts_the_example(tmp_path: Path) -> None:
    nginx, conf = nginx_config(tmp_path)
    result = subprocess.run([nginx, "-t", "-c", str(conf)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_nginx_logs_no_feed_key_or_sign_in_code(tmp_path: Path) -> None:
    """nginx's default access log keeps the query string, where a secret feed URL's key is: every server
    of the example logs in a format of its own that leaves it out. Checked on a running nginx."""
    conf = (DEPLOY / "nginx/mailfeed.conf").read_text()
    [fmt] = re.findall(r"^log_format (\S+) ((?:'[^']*'\s*)+);", conf, re.M)
    assert not re.search(r"\$(request|request_uri|args|arg_\w+|query_string|is_args|http_referer)\b", fmt[1])
    servers = conf.count("server {")
    assert conf.count(f"access_log {NGINX_ACCESS_LOG} {fmt[0]};") == servers == 2

    plain, tls, app = free_port(), free_port(), free_port()  # nothing listens on app: mailfeed answers 502
    nginx, path = nginx_config(tmp_path, (plain, tls, app))
    proc = subprocess.Popen(
        [nginx, "-c", str(path), "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(tls, timeout=30)
        answers = []
        for port, target in [
            (plain, "/f/team/feed.atom?key=k3y-in-the-clear"),
            (tls, "/f/team/feed.atom?key=k3y-over-tls"),
            (tls, "/oauth2/callback?code=c0de-of-sign-in&state=x"),
        ]:
            if port == tls:
                context = ssl._create_unverified_context()
                conn: http.client.HTTPConnection = http.client.HTTPSConnection("127.0.0.1", port, context=context)
            else:
                conn = http.client.HTTPConnection("127.0.0.1", port)
            conn.request("GET", target, headers={"Host": "feed.example.com", "Referer": f"https://x.example{target}"})
            answers.append(conn.getresponse().status)
            conn.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert answers == [301, 502, 502]
    logged = (tmp_path / "mailfeed.access.log").read_text()
    assert logged.count('"GET /f/team/feed.atom HTTP/1.1" 301') == 1, logged
    assert logged.count('"GET /f/team/feed.atom HTTP/1.1" 502') == 1, logged
    assert logged.count('"GET /oauth2/callback HTTP/1.1" 502') == 1, logged
    everything = logged + (tmp_path / "default.access.log").read_text()
    for secret in ("k3y-in-the-clear", "k3y-over-tls", "c0de-of-sign-in"):
        assert secret not in everything, everything


# W^X: serve under PR_SET_MDWE ------------------------------------------------

PR_SET_MDWE = 65
PR_GET_MDWE = 66
MDWE_WRAPPER = f"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl({PR_SET_MDWE}, 1, 0, 0, 0) != 0:
    sys.exit(77)
os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
"""


def mdwe_supported() -> bool:
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            MDWE_WRAPPER,
            "-c",
            f"import ctypes; print(ctypes.CDLL(None).prctl({PR_GET_MDWE}, 0, 0, 0, 0))",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return probe.returncode == 0 and probe.stdout.strip() == "1"


@pytest.fixture
def mdwe_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    if not mdwe_supported():
        pytest.skip(f"this kernel ({os.uname().release}) has no PR_SET_MDWE (Linux 6.3+)")
    yield {
        **os.environ,
        "MAILFEED_DATA_DIR": str(tmp_path / "data"),
        "MAILFEED_SMTP_PORT": str(free_port()),
        "MAILFEED_HTTP_PORT": str(free_port()),
        "MAILFEED_WORKERS": "2",
        "MAILFEED_LOG_LEVEL": "WARNING",
    }


def under_mdwe(*args: str) -> list[str]:
    return [sys.executable, "-c", MDWE_WRAPPER, "-m", "gateway", *args]


def test_libc_refuses_writable_executable_memory_under_the_wrapper() -> None:
    """The lock the next test runs under is real: W+X mmap is refused."""
    if not mdwe_supported():
        pytest.skip(f"this kernel ({os.uname().release}) has no PR_SET_MDWE (Linux 6.3+)")
    code = "import mmap; mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)"
    result = subprocess.run(
        [sys.executable, "-c", MDWE_WRAPPER, "-c", code], capture_output=True, text=True, timeout=30
    )
    assert result.returncode != 0 and "PermissionError" in result.stderr


@pytest.mark.slow
def test_serve_with_its_worker_pool_needs_no_writable_executable_memory(
    mdwe_env: dict[str, str], tmp_path: Path
) -> None:
    env = mdwe_env
    subprocess.run(
        under_mdwe("feed", "add", "team", "team@example.com"), env=env, check=True, capture_output=True, timeout=120
    )
    with (tmp_path / "serve.log").open("wb") as log:
        server = subprocess.Popen(
            under_mdwe("serve"), env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for_port(int(env["MAILFEED_HTTP_PORT"]), timeout=60)
        wait_for_port(int(env["MAILFEED_SMTP_PORT"]), timeout=60)
        with smtplib.SMTP("127.0.0.1", int(env["MAILFEED_SMTP_PORT"]), timeout=30) as client:
            for i in range(8):  # enough to go through the worker processes
                client.sendmail(
                    "ann@example.com",
                    ["team@example.com"],
                    make_mail(message_id=f"wx{i}@example.com", subject=f"W^X {i}"),
                )
        base = f"http://127.0.0.1:{env['MAILFEED_HTTP_PORT']}"

        def all_posted() -> bool:
            with urllib.request.urlopen(f"{base}/api/feeds/team/threads?limit=50", timeout=10) as r:
                return len(json.load(r)["threads"]) == 8

        wait_for(all_posted, timeout=60)
        # the image's HEALTHCHECK command, against this server
        check = subprocess.run([sys.executable, "-c", healthcheck_code()], capture_output=True, timeout=30, env=env)
        assert check.returncode == 0, check.stderr
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    log_text = (tmp_path / "serve.log").read_text(errors="replace")
    assert "Traceback" not in log_text and "PermissionError" not in log_text, log_text
    assert server.returncode in (0, -signal.SIGTERM)


# System calls: serve where the sandbox refuses to lower its priority --------------------------------------------


def test_the_unit_lets_the_processor_lower_its_priority() -> None:
    """`~@resources` refuses setpriority and sched_setscheduler, which the processor uses to give way to SMTP
    (niceness 10; SCHED_IDLE on PostgreSQL); the unit allows those two back. Unprivileged, with no
    capabilities (CapabilityBoundingSet=) and RestrictRealtime=yes, they can only lower a priority."""
    filters = unit_settings(DEPLOY / "mailfeed.service")["SystemCallFilter"]
    assert filters[0] == "@system-service"
    allowed: set[str] = set()
    for line in filters[1:]:  # systemd applies them in order: "~" takes calls out, the others put them back
        calls = set(line.removeprefix("~").split())
        allowed = allowed - calls if line.startswith("~") else allowed | calls
    assert {"setpriority", "sched_setscheduler"} <= allowed
    assert "~@privileged @resources" in filters  # the rest of @resources stays refused
    s = unit_settings(DEPLOY / "mailfeed.service")
    assert s["RestrictRealtime"] == ["yes"] and s["CapabilityBoundingSet"] == [""]


@pytest.mark.slow
def test_serve_processes_mail_where_the_sandbox_refuses_to_lower_its_priority(db_url: str, tmp_path: Path) -> None:
    """A stricter sandbox than ours (the unit before, a container's seccomp profile) makes setpriority and
    sched_setscheduler fail with EPERM: mail is posted all the same, and the log says so once."""
    store = open_store(db_url, upgrade=False)
    add_feed(store)
    store.dispose()
    env = sandbox_env(
        serve_env(db_url, tmp_path, workers="2"), tmp_path / "sandbox", "setpriority", "sched_setscheduler"
    )
    with serving(env, "--no-imap", "--no-digests") as served:
        with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=30) as client:
            client.sendmail(
                "ann@example.com", ["team@example.com"], make_mail(message_id="nice@example.com", subject="Not nice")
            )

        def posted() -> list[dict[str, object]]:
            url = f"http://127.0.0.1:{served.http_port}/api/feeds/team/threads"
            with urllib.request.urlopen(url, timeout=10) as r:
                return json.load(r)["threads"]  # type: ignore[no-any-return]

        [thread] = wait_for(posted, timeout=30)
        assert thread["subject"] == "Not nice"
        _, health = served.healthz()
        assert health["components"]["processor"]["status"] == "ok"  # type: ignore[index]
    log = served.output()
    assert "the processor died" not in log and "Traceback" not in log, log
    assert log.count("cannot lower the processor's priority (niceness 10: Operation not permitted)") == 1, log
    if not db_url.startswith("sqlite"):
        idle = "cannot give the processor idle priority (SCHED_IDLE: Operation not permitted); it keeps its niceness"
        assert log.count(idle) == 1, log
