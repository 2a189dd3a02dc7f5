"""The processes the benchmarks run the project in: gunicorn on loopback, and their CPU time;
and the callback called in-process through Django's WSGI handler (`wsgi_poster`).

Celery workers and the fault helpers (black hole, TCP proxy) are the tests' own, in
`core/testing/faults.py`; the benchmarks import them from there.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLK_TCK = os.sysconf("SC_CLK_TCK")


def start_gunicorn(
    port: int,
    env: dict[str, str],
    *,
    workers: int = 2,
    threads: int = 4,
    extra_args: Sequence[str] = (),
    settle_seconds: float = 1.0,
) -> subprocess.Popen:
    """`gunicorn wxadmin.wsgi` on 127.0.0.1:`port` in a process group of its own, with
    exactly `env` as its environment; returns once it accepts connections and the workers
    had `settle_seconds` to boot. Gives up (and kills the group) after 30 s."""
    command = [str(ROOT / ".venv/bin/gunicorn"), "wxadmin.wsgi:application", "-w", str(workers)]
    if threads > 1:
        command += ["--threads", str(threads)]
    command += ["-b", f"127.0.0.1:{port}", "--log-level", "warning", *extra_args]
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                time.sleep(settle_seconds)  # let every worker boot
                return process
        except OSError:
            time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    raise SystemExit("gunicorn did not start")


def wsgi_poster(label: str) -> Callable[[str, bytes], None]:
    """A function POSTing an XML body to a path with its query string ("/wechat/…/?…") through
    Django's WSGI handler in this process — no server, no socket: the callback's own cost.
    Any answer but 200 ends the bench, naming `label`."""
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()

    def post(path: str, body: bytes) -> None:
        path_info, query = path.split("?", 1)
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path_info,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "HTTP_HOST": "127.0.0.1",
            "CONTENT_TYPE": "text/xml",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "SCRIPT_NAME": "",
        }
        statuses: list[str] = []
        chunks = handler(environ, lambda status, headers: statuses.append(status))
        b"".join(chunks)
        chunks.close()
        if not statuses[0].startswith("200"):
            raise SystemExit(f"{label}: callback answered {statuses[0]}")

    return post


def stop_gunicorn(process: subprocess.Popen) -> None:
    """SIGTERM to the group (gunicorn and its workers), SIGKILL after 15 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU time of these processes (Linux /proc); those gone count as 0."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / CLK_TCK


def spawn_signed_push_load(port: int, account, first_id: int, content: str):
    """A `signed_push_load` process (spawned: it shares no connection with the bench) for
    `account`'s callback, not started yet; returns (process, ready, stop, queue)."""
    import multiprocessing as mp

    spawn = mp.get_context("spawn")
    ready, stop, queue = spawn.Event(), spawn.Event(), spawn.Queue()
    process = spawn.Process(
        target=signed_push_load,
        args=(
            port,
            account.appid,
            str(account.server_token),
            account.original_id,
            first_id,
            content,
            ready,
            stop,
            queue,
        ),
    )
    return process, ready, stop, queue


def signed_push_load(
    port: int, appid: str, token: str, original_id: str, first_id: int, content: str, ready, stop, queue
) -> None:
    """Own process (the target of a spawned `Process`): 8 threads posting signed plaintext
    text pushes (`content`, MsgIds from `first_id`, 300 users) to the callback on
    127.0.0.1:`port` until `stop` is set; `ready` is set once 200 have been answered
    (gunicorn's workers are warm by then). Puts {"done": [(answered at, latency in s,
    MsgId) of every push answered 200], "errors": count} on `queue`."""
    import http.client
    import threading

    from wechat.crypto import signature

    done: list[tuple[float, float, int]] = []
    errors = [0]
    lock = threading.Lock()
    counter = [first_id]

    def run():
        while not stop.is_set():
            with lock:
                msg_id = counter[0]
                counter[0] += 1
            now = str(int(time.time()))
            nonce = str(msg_id % 10**9)
            user = f"oLoad{msg_id % 300:04d}"
            path = (
                f"/wechat/{appid}/?signature={signature(token, now, nonce)}"
                f"&timestamp={now}&nonce={nonce}&openid={user}"
            )
            body = (
                f"<xml><ToUserName><![CDATA[{original_id}]]></ToUserName>"
                f"<FromUserName><![CDATA[{user}]]></FromUserName>"
                f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                f"<Content><![CDATA[{content}]]></Content>"
                f"<MsgId>{msg_id}</MsgId></xml>"
            ).encode()
            started = time.time()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("POST", path, body=body, headers={"Content-Type": "text/xml"})
                response = conn.getresponse()
                response.read()
                conn.close()
                ok = response.status == 200
            except OSError:
                ok = False
            finished = time.time()
            with lock:
                if ok:
                    done.append((finished, finished - started, msg_id))
                    if len(done) == 200:
                        ready.set()
                else:
                    errors[0] += 1

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put({"done": done, "errors": errors[0]})
