"""A real S3-compatible server on loopback for tests: moto's WSGI app behind werkzeug.

Like ``moto.server.ThreadedMotoServer``, plus what the tests need: a request log (to count
PUTs) and ``stop()`` / ``start()`` on the same port, where a stopped server refuses
connections (the listening socket is closed; every response closes its connection, so no
kept-alive socket outlives a stop). Moto keeps its buckets in this process, so objects
survive a restart, as they survive an outage of a real S3.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server


class _QuietHandler(MotoRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass

ACCESS_KEY = "testing-key-id"
SECRET_KEY = "testing-secret-key"


class S3Server:
    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.responses: list[tuple[str, str, int]] = []
        self.on_request: Callable[[str, str, dict[str, str]], None] | None = None
        self._lock = threading.Lock()
        self._app = DomainDispatcherApplication(create_backend_app)
        self._server = None
        self._thread: threading.Thread | None = None
        self._faults: list[list] = []

    def inject(self, method: str, path_part: str, status: int, code: str, times: int = 1) -> None:
        """Answer the next ``times`` matching requests with an S3 error instead of moto's."""
        with self._lock:
            self._faults.append([method, path_part, status, code, times])

    def _fault(self, method: str, path: str) -> tuple[int, str] | None:
        with self._lock:
            for fault in self._faults:
                if fault[0] == method and fault[1] in path and fault[4] > 0:
                    fault[4] -= 1
                    return fault[2], fault[3]
        return None

    def _wsgi(self, environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items()
                   if k.startswith("HTTP_")}
        with self._lock:
            self.requests.append((method, path, headers))
        if self.on_request is not None:
            self.on_request(method, path, headers)
        fault = self._fault(method, path)
        if fault is not None:
            status, code = fault
            with self._lock:
                self.responses.append((method, path, status))
            environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            body = (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
                    f"<Message>injected</Message></Error>").encode()
            start_response(f"{status} {code}", [("Content-Type", "application/xml"),
                                                ("Content-Length", str(len(body))),
                                                ("Connection", "close")])
            return [body]

        def closing_start_response(status, response_headers, exc_info=None):
            with self._lock:
                self.responses.append((method, path, int(status.split()[0])))
            response_headers = [(k, v) for k, v in response_headers if k.lower() != "connection"]
            return start_response(status, [*response_headers, ("Connection", "close")], exc_info)

        return self._app(environ, closing_start_response)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> S3Server:
        self._server = make_server("127.0.0.1", self.port, self._wsgi, threaded=True,
                                   request_handler=_QuietHandler)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def puts(self, path_part: str = "") -> list[tuple[str, dict[str, str]]]:
        """PUT object requests (not bucket creation) whose path contains ``path_part``."""
        with self._lock:
            return [(p, h) for m, p, h in self.requests
                    if m == "PUT" and p.count("/") >= 2 and path_part in p]

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.responses.clear()

    def __enter__(self) -> S3Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def s3_client(server: S3Server, max_attempts: int = 2):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=server.url, region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"max_attempts": max_attempts, "mode": "standard"},
                      connect_timeout=2, read_timeout=10),
    )


def fresh_s3_store(server: S3Server, prefix: str = "fleet/"):
    """An ``S3ObjectStore`` on a new bucket of ``server`` (tests never share a bucket)."""
    import uuid

    from fleet_assets.lib.store.s3 import S3ObjectStore

    client = s3_client(server)
    bucket = f"fleet-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return S3ObjectStore(client=client, bucket=bucket, prefix=prefix)
