"""A fake Google OAuth token endpoint on loopback, and service-account key files for it.

The key is a freshly generated RSA key; the key file's `token_uri` points at the fake endpoint,
which checks each JWT assertion's signature with the key's public half (so the router really
signs with the key it was given) and answers with numbered access tokens. No network."""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

CLIENT_EMAIL = "router-test@test-project.iam.gserviceaccount.com"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def write_key_file(path: Path, key: rsa.RSAPrivateKey, token_uri: str) -> Path:
    """A service-account key file as the Cloud console downloads it."""
    path.write_text(json.dumps({
        "type": "service_account",
        "project_id": "test-project",
        "private_key_id": "0123456789abcdef",
        "private_key": pem(key),
        "client_email": CLIENT_EMAIL,
        "client_id": "100000000000000000001",
        "token_uri": token_uri,
    }))
    return path


@dataclass
class TokenEndpoint:
    """What the fake endpoint answers, and what it was asked. Change the settings between
    requests; they are read per request."""

    public_key: rsa.RSAPublicKey
    url: str = ""
    expires_in: int = 3600
    delay: float = 0.0
    fail_with: tuple[int, dict[str, Any]] | None = None  # status and body of a refusal
    issued: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        time.sleep(self.delay)
        if self.fail_with is not None:
            return self.fail_with
        if form.get("grant_type") != [JWT_BEARER]:
            return 400, {"error": "unsupported_grant_type"}
        claims = self._verified(form.get("assertion", [""])[0])
        if claims is None:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        with self.lock:
            token = f"ya29.test-token-{len(self.issued) + 1}-{'x' * 40}"
            self.issued.append(token)
            self.scopes.append(str(claims.get("scope")))
        return 200, {"access_token": token, "expires_in": self.expires_in, "token_type": "Bearer"}

    def _verified(self, assertion: str) -> dict[str, Any] | None:
        try:
            header, payload, signature = assertion.split(".")
            self.public_key.verify(_unb64(signature), f"{header}.{payload}".encode(),
                                   padding.PKCS1v15(), hashes.SHA256())
            claims: dict[str, Any] = json.loads(_unb64(payload))
        except Exception:  # noqa: BLE001 - any malformed assertion is refused
            return None
        return claims if claims.get("iss") == CLIENT_EMAIL else None


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@contextmanager
def token_endpoint(key: rsa.RSAPrivateKey) -> Iterator[TokenEndpoint]:
    endpoint = TokenEndpoint(key.public_key())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("content-length") or 0)
            form = urllib.parse.parse_qs(self.rfile.read(length).decode())
            status, body = endpoint.answer(form)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}/token"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()
