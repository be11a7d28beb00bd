"""The signature scheme of our webhooks, both ways: HMAC-SHA256 over "<timestamp>.<raw body>".

    X-OMS-Signature: t=<unix seconds>,v1=<hex digest>

A receiver recomputes the digest with its secret, compares in constant time, and
rejects timestamps older than a few minutes (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import time


def signature_header(body: bytes, secret: str, timestamp: int | None = None) -> str:
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def verify(body: bytes, header: str, secret: str, *, tolerance: int = 300) -> str | None:
    """None when the header signs the body with the secret recently; else what is wrong."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return "missing or malformed signature header"
    if abs(int(time.time()) - timestamp) > tolerance:  # ints: no overflow for any length
        return "stale signature"
    expected = signature_header(body, secret, timestamp).split("v1=", 1)[1]
    if not hmac.compare_digest(expected.encode(), parts.get("v1", "").encode()):
        return "signature does not match"
    return None
