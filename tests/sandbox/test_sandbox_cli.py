"""`python -m controller.sandbox`: prints its URL, serves, stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "manifests" / "seed.yaml"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.Popen(
        [sys.executable, "-m", "controller.sandbox", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def first_line(process: subprocess.Popen[str], timeout: float = 20.0) -> str:
    """The first stdout line, or fail after `timeout` seconds (readline alone could hang)."""
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout).strip()
    except queue.Empty:
        process.kill()
        raise AssertionError("the sandbox printed nothing in time") from None


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_serves_until_signalled_then_exits_zero(stop_signal: signal.Signals) -> None:
    port = free_port()
    process = start("--port", str(port), "--seed", str(SEED), "--transition-seconds", "0")
    try:
        line = first_line(process)
        assert line == f"sandbox listening on http://127.0.0.1:{port}"
        url = line.rsplit(" ", 1)[1]
        sm = boto3.client(
            "sagemaker",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        groups = sm.list_model_package_groups()["ModelPackageGroupSummaryList"]
        assert len(groups) == 2
        with urllib.request.urlopen(f"{url}/_sandbox/calls", timeout=10) as response:
            assert json.loads(response.read()) == {"calls": {"ListModelPackageGroups": 1}}
        process.send_signal(stop_signal)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_bad_seed_is_one_clear_line_and_exit_one(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("modelPackageGroups: [{name: g, versions: [{image: i}]}]\n")
    process = start("--port", str(free_port()), "--seed", str(seed))
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 1
    assert "Traceback" not in stderr
    assert f"{seed}: modelPackageGroups[0].versions[0].modelDataUrl: Field required" in stderr


def test_invalid_fault_flag_is_rejected_without_traceback() -> None:
    process = start("--port", str(free_port()), "--throttle-rate", "2")
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 1
    assert "throttle_rate must be a number from 0 to 1" in stderr
    assert "Traceback" not in stderr


def test_busy_port_is_one_clear_line_and_exit_one() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        process = start("--port", str(port))
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 1
    assert (
        stderr.strip()
        == f"sandbox: error: cannot listen on 127.0.0.1:{port}: Address already in use"
    )


def lines(process: subprocess.Popen[str], count: int, timeout: float = 20.0) -> list[str]:
    """The first `count` stdout lines, each as soon as it is written (no buffering waits)."""
    return [first_line(process, timeout) for _ in range(count)]


def test_prints_the_environment_to_copy_at_once_and_it_works() -> None:
    port = free_port()
    process = start("--port", str(port))
    try:
        url_line, export = lines(process, 2)
        url = f"http://127.0.0.1:{port}"
        assert url_line == f"sandbox listening on {url}"
        assert export == (
            f"export AWS_ENDPOINT_URL={url} AWS_ACCESS_KEY_ID=testing "
            "AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1"
        )
        # Pasted into a shell with an otherwise empty environment, the line is all boto3 needs.
        script = "import boto3; print(boto3.client('sagemaker').list_endpoints()['Endpoints'])"
        shell = f'{export}; exec {sys.executable} -c "{script}"'
        result = subprocess.run(
            ["sh", "-c", shell],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (result.returncode, result.stdout.strip()) == (0, "[]"), result.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def test_stops_on_sigterm_while_a_client_keeps_its_connection_open() -> None:
    port = free_port()
    process = start("--port", str(port))
    try:
        lines(process, 2)
        held = socket.create_connection(("127.0.0.1", port), timeout=10)
        held.sendall(b"GET /_sandbox/calls HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        for _ in range(10):  # headers and body may arrive in separate segments
            answer += held.recv(4096)
            if answer.endswith(b'{"calls": {}}'):
                break
        assert answer.startswith(b"HTTP/1.1 200")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
        assert held.recv(4096) == b""  # the kept-alive connection was closed, not left hanging
        held.close()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_after_commit_flags_reach_the_faults_route() -> None:
    port = free_port()
    process = start(
        "--port", str(port), "--after-commit-error-rate", "0.1", "--after-commit-drop-rate", "0.2"
    )
    try:
        lines(process, 2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sandbox/faults", timeout=10) as r:
            settings = json.loads(r.read())
        assert (settings["after_commit_error_rate"], settings["after_commit_drop_rate"]) == (
            0.1,
            0.2,
        )
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
