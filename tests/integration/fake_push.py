"""A local push service for tests: a real HTTP server on 127.0.0.1 that checks what a browser's
push service checks (the VAPID JWT, RFC 8292) and decrypts the body the way the browser would
(aes128gcm, RFC 8188 + RFC 8291), with keys made here as a browser makes them."""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


@dataclass
class Browser:
    """One subscribed browser: its receiving key pair and auth secret, and its endpoint."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth_secret: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def keys(self) -> dict[str, str]:
        return {
            "p256dh": b64url(_point(self.private_key.public_key())),
            "auth": b64url(self.auth_secret),
        }

    def subscription(self, topics: list[str] | None = None) -> dict:
        body = {"endpoint": self.endpoint, "keys": self.keys}
        if topics is not None:
            body["topics"] = topics
        return body

    def decrypt(self, body: bytes) -> bytes:
        """RFC 8188 header (salt 16, rs 4, idlen 1, keyid = the server's key), RFC 8291 keys."""
        salt, rs, idlen = body[:16], int.from_bytes(body[16:20], "big"), body[20]
        server_point = body[21 : 21 + idlen]
        ciphertext = body[21 + idlen :]
        assert idlen == 65 and len(ciphertext) <= rs, "one record with the sender's P-256 key"
        server_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), server_point)
        ecdh_secret = self.private_key.exchange(ec.ECDH(), server_key)
        ua_public = _point(self.private_key.public_key())
        ikm = _hkdf(
            self.auth_secret, ecdh_secret, b"WebPush: info\0" + ua_public + server_point, 32
        )
        cek = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\0", 16)
        nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\0", 12)
        padded = AESGCM(cek).decrypt(nonce, ciphertext, None)
        unpadded = padded.rstrip(b"\0")
        assert unpadded.endswith(b"\x02"), "the last record ends with the 0x02 delimiter"
        return unpadded[:-1]


@dataclass
class Received:
    token: str
    payload: dict
    ttl: int
    urgency: str | None
    vapid_key: str


def verify_vapid(authorization: str, audience: str) -> str:
    """Check `vapid t=<jwt>, k=<key>`; returns k. Raises AssertionError on anything wrong."""
    assert authorization.startswith("vapid "), authorization
    parts = dict(item.strip().split("=", 1) for item in authorization[len("vapid ") :].split(","))
    token, key = parts["t"], parts["k"]
    header_b64, claims_b64, signature_b64 = token.split(".")
    header = json.loads(unb64url(header_b64))
    claims = json.loads(unb64url(claims_b64))
    assert header["alg"] == "ES256", header
    signature = unb64url(signature_b64)
    assert len(signature) == 64, "ES256 signatures are r||s"
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
    try:
        public.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise AssertionError("VAPID signature does not verify") from None
    assert claims["aud"] == audience, claims
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600, claims
    assert claims.get("sub"), claims
    return key


class FakePushService:
    """`answer[token] = (status, headers)` makes the next posts to that browser fail so."""

    def __init__(self):
        self.browsers: dict[str, Browser] = {}
        self.received: list[Received] = []
        self.errors: list[str] = []
        self.answer: dict[str, tuple[int, dict]] = {}
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.origin = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._thread.join(5)

    def browser(self) -> Browser:
        token = secrets.token_urlsafe(12)
        browser = Browser(endpoint=f"{self.origin}/push/{token}")
        self.browsers[token] = browser
        return browser

    def for_browser(self, browser: Browser) -> list[Received]:
        token = urlsplit(browser.endpoint).path.rsplit("/", 1)[-1]
        return [r for r in self.received if r.token == token]

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        token = request.path.rsplit("/", 1)[-1]
        browser = self.browsers.get(token)
        if request.method != "POST" or browser is None:
            return Response("no such subscription", status=404)(environ, start_response)
        if token in self.answer:
            status, headers = self.answer[token]
            return Response("", status=status, headers=headers)(environ, start_response)
        try:
            key = verify_vapid(request.headers.get("Authorization", ""), self.origin)
            assert request.headers.get("Content-Encoding") == "aes128gcm"
            payload = json.loads(browser.decrypt(request.get_data()))
            self.received.append(
                Received(
                    token=token,
                    payload=payload,
                    ttl=int(request.headers["TTL"]),
                    urgency=request.headers.get("Urgency"),
                    vapid_key=key,
                )
            )
        except Exception as error:  # reported to the test, answered as a push service would
            self.errors.append(f"{type(error).__name__}: {error}")
            return Response("bad request", status=400)(environ, start_response)
        return Response("", status=201)(environ, start_response)
