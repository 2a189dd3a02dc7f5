"""`scripts/serve.sh` (make serve) runs the production stack; it serves, publishes, reports, stops.

Real processes on loopback: gunicorn (2 workers), a Celery worker and beat with the
production settings, the test PostgreSQL database and Redis database, and the
sandbox in this process as WeChat. Takes about 20–30 s.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from accounts.tests.factories import OfficialAccountFactory
from wechat.crypto import signature
from wechat.tests.conftest import APPID, SECRET, WXID

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Stack-test-pw-9f2c1e"
SERVER_TOKEN = "StackTestServerToken0123456789ab"
HTTPS = {"X-Forwarded-Proto": "https"}
MENU = {
    "button": [
        {"type": "click", "name": "今日歌曲", "key": "V1001_TODAY", "reply": "你好"},
        {"type": "view", "name": "搜索", "url": "https://www.example.com/"},
    ]
}

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stack_environment(*, port: int, sandbox_url: str, tmp_path: Path) -> dict:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    host = db["HOST"] or "127.0.0.1"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PROMETHEUS_", "SENTRY_"))
    }
    env.update(
        {
            "PY": sys.executable,
            "SECRET_KEY": "stack-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            "ALLOWED_HOSTS": "127.0.0.1",
            # the test settings' keys: rows written here decrypt in the stack
            "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
            "DATABASE_URL": f"postgres://{auth}@{host}:{db['PORT'] or 5432}/{db['NAME']}",
            "REDIS_URL": settings.REDIS_URL,
            "EMAIL_URL": "consolemail://",
            "WECHAT_API_BASE": sandbox_url,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": "2",
            "CELERY_WORKER_CONCURRENCY": "1",
            "METRICS_DIR": str(tmp_path / "metrics"),
            # kept between runs (per xdist worker): collectstatic compresses only what changed
            "STATIC_ROOT": str(ROOT / "var" / "test-static" / os.environ.get("PYTEST_XDIST_WORKER", "main")),
            "MEDIA_ROOT": str(tmp_path / "media"),
            "MENU_PUBLISH_RATE_PER_SECOND": "0",
            "LOG_LEVEL": "INFO",
            # the shared test Redis runs without appendonly: accepted here (docs/operations.md)
            "REDIS_ACCEPT_DATA_LOSS": "true",
        }
    )
    return env


class Browser:
    """requests behind a TLS proxy: X-Forwarded-Proto https, and the Secure cookies carried."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.cookies: dict[str, str] = {}
        self.secure_cookies: set[str] = set()

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {
            **HTTPS,
            "Referer": f"https://{self.base.split('//')[1]}{path}",
            **kwargs.pop("headers", {}),
        }
        if "csrftoken" in self.cookies and method != "GET":
            headers["X-CSRFToken"] = self.cookies["csrftoken"]
        response = self.session.request(
            method,
            self.base + path,
            headers=headers,
            cookies=self.cookies,
            allow_redirects=False,
            timeout=20,
            **kwargs,
        )
        for cookie in response.cookies:
            self.cookies[cookie.name] = cookie.value
            if cookie.secure:
                self.secure_cookies.add(cookie.name)
        return response


def wait_ready(
    base: str, process: subprocess.Popen, log: Path, timeout: float = 120, checks: str = ""
) -> dict:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        assert process.poll() is None, f"serve.sh exited early:\n{log.read_text()[-4000:]}"
        try:
            answer = requests.get(base + "/readyz", params={"checks": checks} if checks else None, timeout=3)
            last = answer.json()
            if answer.status_code == 200:
                return last
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError(f"not ready in {timeout} s: {last}\n{log.read_text()[-4000:]}")


def metric(text: str, name: str, **labels) -> float | None:
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    pattern = "^" + re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if labels else "") + r" (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else None


@pytest.mark.django_db(transaction=True)
def test_make_serve_runs_the_production_stack_end_to_end(sandbox, settings, redis_client, tmp_path):
    sb = sandbox
    sb.register_app(APPID, SECRET, wechat_id=WXID)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    get_user_model().objects.create_superuser("ops", "ops@example.com", PASSWORD)
    account = OfficialAccountFactory(appid=APPID, appsecret=SECRET, wechat_id=WXID, server_token=SERVER_TOKEN)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["bash", "scripts/serve.sh"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=stack_environment(port=port, sandbox_url=sb.base_url, tmp_path=tmp_path),
            start_new_session=True,
        )
    try:
        ready = wait_ready(base, process, log)
        assert set(ready["checks"]) == {"database", "redis", "redis_durability", "broker", "beat", "tokens"}
        assert requests.get(base + "/healthz", timeout=5).json() == {"status": "ok"}

        # Production settings: plain HTTP is sent to HTTPS; behind the proxy's header it is not.
        plain = requests.get(base + "/admin/login/", allow_redirects=False, timeout=5)
        assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")

        browser = Browser(base)
        assert browser.request("GET", "/admin/login/").status_code == 200
        login = browser.request(
            "POST",
            "/admin/login/",
            data={
                "username": "ops",
                "password": PASSWORD,
                "next": "/admin/",
                "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            },
        )
        assert login.status_code == 302, login.text[:500]
        assert {"sessionid", "csrftoken"} <= browser.secure_cookies
        assert browser.request("GET", "/admin/").status_code == 200

        publish = browser.request(
            "POST",
            f"/menus/{account.pk}/publish/",
            data=json.dumps({"menu": MENU}),
            headers={"Content-Type": "application/json"},
        )
        assert publish.status_code == 200, publish.text[:500]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            version = browser.request("GET", f"/menus/{account.pk}/latest/").json()["version"]
            if version["status"] != "pending":
                break
            time.sleep(0.3)
        assert version["status"] == "published", version
        assert sb.state(APPID)["menu"]["button"][0]["name"] == "今日歌曲"

        # Two callbacks (one verified, one with a bad signature), answered by either worker.
        stamp, nonce = str(int(time.time())), "n0nce"
        good = {
            "signature": signature(SERVER_TOKEN, stamp, nonce),
            "timestamp": stamp,
            "nonce": nonce,
            "echostr": "hello",
        }
        assert requests.get(f"{base}/wechat/{APPID}/", params=good, headers=HTTPS, timeout=5).text == "hello"
        assert (
            requests.get(
                f"{base}/wechat/{APPID}/", params={**good, "signature": "0" * 40}, headers=HTTPS, timeout=5
            ).status_code
            == 403
        )

        # /metrics merges the web workers' and the Celery worker's counters.
        assert (
            requests.get(base + "/metrics", headers={"X-Forwarded-For": "203.0.113.9"}, timeout=5).status_code
            == 403
        )
        text = requests.get(base + "/metrics", timeout=10).text
        assert metric(text, "wxadmin_menu_publications_total", outcome="published") == 1
        assert metric(text, "wxadmin_token_fetches_total", appid=APPID) >= 1
        assert metric(text, "wxadmin_callback_responses_total", status="200") == 1
        assert metric(text, "wxadmin_callback_responses_total", status="403") == 1
        assert metric(text, "wxadmin_callback_duration_seconds_count") == 2
        assert metric(text, "wxadmin_task_queue_length", queue="celery") is not None
        assert metric(text, "wxadmin_beat_heartbeat_age_seconds") < 120
        stored = redis_client.get(f"wechat:token:classic:{APPID}") or b""
        access_token = stored.decode().split("|")[-1]
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    output = log.read_text()
    assert code == 0, output[-3000:]
    assert "[serve] stopped" in output
    with pytest.raises(ProcessLookupError):  # nothing of the stack is left running
        os.killpg(process.pid, 0)
    with pytest.raises(OSError):  # noqa: PT011 - refused or timed out: either way nothing listens
        socket.create_connection(("127.0.0.1", port), timeout=1).close()

    # JSON lines with request ids; neither the password, the AppSecret nor a token leaked.
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    requests_logged = [r for r in records if r.get("logger") == "wxadmin.request"]
    assert any(
        r["path"] == "/admin/login/" and r["method"] == "POST" and r.get("request_id")
        for r in requests_logged
    )
    assert any(r.get("appid") == APPID for r in requests_logged)
    assert access_token, "the stack fetched no token: the check below would prove nothing"
    for secret in (PASSWORD, SECRET, SERVER_TOKEN, access_token):
        assert secret not in output


@pytest.mark.django_db(transaction=True)
def test_when_one_process_dies_serve_stops_the_others_and_fails(sandbox, redis_client, tmp_path):
    """gunicorn cannot start (an impossible port): the worker and beat are stopped, exit 1."""
    env = stack_environment(port=free_port(), sandbox_url=sandbox.base_url, tmp_path=tmp_path)
    env["GUNICORN_BIND"] = "127.0.0.1:99999"
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["bash", "scripts/serve.sh", "--no-migrate"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        code = process.wait(timeout=90)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    output = log.read_text()
    assert code == 1, output[-3000:]
    assert "a process exited" in output and "[serve] stopped" in output
    with pytest.raises(ProcessLookupError):  # the worker and beat are gone too
        os.killpg(process.pid, 0)


NGINX = "/usr/sbin/nginx"


def nginx_site(*, web_port: int, https_port: int, http_port: int, tmp_path: Path) -> Path:
    """deploy/nginx/wxadmin.conf as shipped, on loopback ports with a self-signed certificate,
    inside a minimal nginx.conf whose files all live in tmp_path."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
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
            "/CN=127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    site = (ROOT / "deploy/nginx/wxadmin.conf").read_text()
    for old, new in (
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{web_port};"),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("/etc/letsencrypt/live/wxadmin.example.com/fullchain.pem", str(cert)),
        ("/etc/letsencrypt/live/wxadmin.example.com/privkey.pem", str(key)),
    ):
        assert old in site, old
        site = site.replace(old, new)
    site = "\n".join(line for line in site.splitlines() if "listen [::]" not in line)
    temp = tmp_path / "nginx-temp"
    temp.mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"""daemon off;
user root;
worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/nginx-error.log warn;
events {{ worker_connections 2048; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
{site}
}}
"""
    )
    return conf


def slow_header_client(port: int, stop, connected, context) -> None:
    """Opens a TLS connection and sends a request's headers one byte a second, never
    finishing (slowloris)."""
    try:
        sock = context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10))
        connected.release()
        header = b"GET /admin/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4000
        for byte in header:
            if stop.is_set():
                break
            sock.send(bytes([byte]))
            stop.wait(1)
        sock.close()
    except OSError:
        pass


@pytest.mark.skipif(not Path(NGINX).exists(), reason="needs Debian's nginx (apt-get install nginx)")
@pytest.mark.django_db(transaction=True)
def test_nginx_in_front_keeps_callbacks_within_5_s_under_200_slow_clients(sandbox, redis_client, tmp_path):
    """Issue 23, point 6: the shipped nginx site in front of `make serve`'s gunicorn; 200
    connections send their headers byte by byte while signed callbacks go through nginx:
    every callback is answered within WeChat's 5 s."""
    import threading

    sandbox.register_app(APPID, SECRET, wechat_id=WXID)
    OfficialAccountFactory(appid=APPID, appsecret=SECRET, wechat_id=WXID, server_token=SERVER_TOKEN)
    port, https_port, http_port = free_port(), free_port(), free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        serve = subprocess.Popen(
            ["bash", "scripts/serve.sh", "--no-migrate"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=stack_environment(port=port, sandbox_url=sandbox.base_url, tmp_path=tmp_path),
            start_new_session=True,
        )
    conf = nginx_site(web_port=port, https_port=https_port, http_port=http_port, tmp_path=tmp_path)
    nginx = subprocess.Popen([NGINX, "-c", str(conf)], start_new_session=True)
    stop = threading.Event()
    try:
        # the web tier is what matters here (--no-migrate installs no schedules: no beat heartbeat)
        wait_ready(f"http://127.0.0.1:{port}", serve, log, timeout=120, checks="database,redis,broker")

        def callback(i: int) -> tuple[float, requests.Response]:
            stamp, nonce = str(int(time.time())), f"nonce{i}"
            params = {
                "signature": signature(SERVER_TOKEN, stamp, nonce),
                "timestamp": stamp,
                "nonce": nonce,
                "echostr": f"hello{i}",
            }
            started = time.monotonic()
            answer = requests.get(
                f"https://127.0.0.1:{https_port}/wechat/{APPID}/", params=params, verify=False, timeout=10
            )
            return time.monotonic() - started, answer

        for i in range(4):  # warm: both gunicorn workers have loaded the account
            callback(-1 - i)
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # one context: loading CAs 200 times is slow
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        connected = threading.Semaphore(0)
        attackers = [
            threading.Thread(
                target=slow_header_client, args=(https_port, stop, connected, context), daemon=True
            )
            for _ in range(200)
        ]
        for thread in attackers:
            thread.start()
        for _ in attackers:  # every slow connection is open and trickling
            assert connected.acquire(timeout=30)
        time.sleep(2)
        timings = []
        for i in range(20):
            seconds, answer = callback(i)
            timings.append(seconds)
            assert answer.status_code == 200 and answer.text == f"hello{i}", answer.text[:300]
        assert max(timings) < 5, timings
        # the probes stay private behind the public name
        assert (
            requests.get(f"https://127.0.0.1:{https_port}/readyz", verify=False, timeout=5).status_code == 404
        )
    finally:
        stop.set()
        nginx.send_signal(signal.SIGTERM)
        nginx.wait(timeout=15)
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(timeout=45)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
