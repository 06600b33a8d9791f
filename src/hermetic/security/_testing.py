"""Test helpers of the security layer: a manual clock, the switch that makes ``limits`` read it,
and a self-signed certificate for TLS tests.

Not public API here: ``hermetic.testing`` re-exports :class:`ManualClock`,
:func:`limits_clock` and :func:`self_signed_certificate`.

``limits`` reads :func:`time.time` inside its memory storage and its
strategies; it takes no clock argument. Rather than re-implement its
storages, :func:`limits_clock` points the ``time`` name of those two modules
at a stand-in whose ``time()`` is the given clock, for the duration of a
``with`` block. The shield reads the same clock (``RateLimitShield(now=)``)
to compute ``RateLimit-Reset`` and ``Retry-After``, so windows open, fill and
reset without a test ever sleeping.

Redis keeps its own time (key TTLs), so tests against Redis do not move the
clock; they check sharing and outages instead.
"""

from __future__ import annotations

import contextlib
import os
import types
import typing as t

__all__ = ["ManualClock", "limits_clock", "self_signed_certificate"]


class ManualClock:
    """A clock that moves only when told: ``clock()`` returns epoch seconds."""

    __slots__ = ("now",)

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = float(now)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        """Move the clock ``seconds`` forward; return the new time."""
        self.now += seconds
        return self.now


@contextlib.contextmanager
def limits_clock(clock: t.Callable[[], float]) -> t.Iterator[t.Callable[[], float]]:
    """Make ``limits``' memory storage and strategies read ``clock`` inside the block.

    For tests: the change is process-wide while the block runs. Needs the
    ``ratelimit`` extra.
    """
    import limits.storage.memory
    import limits.strategies

    # The modules of ``limits`` that call ``time.time()``.
    clocked = (limits.storage.memory, limits.strategies)
    stand_in = types.SimpleNamespace(time=clock)
    saved = [getattr(module, "time") for module in clocked]  # noqa: B009
    for module in clocked:
        setattr(module, "time", stand_in)  # noqa: B010
    try:
        yield clock
    finally:
        for module, original in zip(clocked, saved, strict=True):
            setattr(module, "time", original)  # noqa: B010


def self_signed_certificate(
    directory: str | os.PathLike[str],
    hosts: t.Sequence[str] = ("localhost", "127.0.0.1"),
    *,
    stem: str | None = None,
    days: int = 1,
) -> tuple[str, str]:
    """Write a self-signed certificate and its key; return their paths.

    For tests of TLS set-ups: a gateway in front of the app, a JWKS served
    over HTTPS and trusted through ``JWT_JWKS_CA_FILE``. ``hosts`` are the
    names and IP addresses the certificate is valid for (the first is also
    its common name); the certificate is its own CA, so the ``.crt`` file is
    the bundle to trust. The files are ``<stem>.crt`` and ``<stem>.key``
    (an unencrypted PKCS#8 EC key) in ``directory``; ``stem`` defaults to the
    first host.
    """
    import datetime as dt
    import ipaddress
    from pathlib import Path

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    if not hosts:
        raise ValueError("self_signed_certificate needs at least one host name or address")
    sans: list[x509.GeneralName] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    base = Path(directory) / (stem or hosts[0])
    crt, pem = base.with_name(base.name + ".crt"), base.with_name(base.name + ".key")
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pem.chmod(0o600)
    return str(crt), str(pem)
