"""Signing and verification keys, each bound to exactly one algorithm.

A key never serves two algorithms: the ``alg`` of a token must equal the
``alg`` bound to the key its ``kid`` names. That single rule stops the
algorithm-confusion attacks (an RSA public key used as an HMAC secret, a
token moved from one algorithm to another).

Allowed algorithms: ``EdDSA`` (Ed25519, the default), ``ES256`` (P-256),
``RS256`` (RSA, 2048 bits or more) and, only when explicitly allowed
(``JWT_ALLOW_HS256``), ``HS256`` with a secret of 32 bytes or more.
Key ids default to the RFC 7638 JWK thumbprint of the public key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import typing as t

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt import PyJWK
from jwt.algorithms import get_default_algorithms
from jwt.exceptions import PyJWTError

from ..errors import ConfigurationError

__all__ = [
    "ALGORITHMS",
    "ASYMMETRIC_ALGORITHMS",
    "MIN_HMAC_BYTES",
    "MIN_RSA_BITS",
    "SigningKey",
    "VerificationKey",
    "generate_signing_key",
    "jwk_thumbprint",
    "load_key",
    "load_key_specs",
    "private_pem",
    "public_jwk",
]

#: The asymmetric algorithms, always allowed.
ASYMMETRIC_ALGORITHMS = frozenset({"EdDSA", "ES256", "RS256"})
#: Every algorithm a key may be bound to (HS256 only when allowed).
ALGORITHMS = ASYMMETRIC_ALGORITHMS | {"HS256"}
#: The smallest RSA modulus accepted, in bits.
MIN_RSA_BITS = 2048
#: The shortest HMAC secret accepted, in bytes.
MIN_HMAC_BYTES = 32

_ALGS = get_default_algorithms()
# RFC 7638, section 3.2: the members hashed for each key type, in order.
_THUMBPRINT_MEMBERS = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "oct": ("k", "kty"),
}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwk_thumbprint(jwk: t.Mapping[str, t.Any]) -> str:
    """Return the RFC 7638 SHA-256 thumbprint of ``jwk``, base64url-encoded."""
    members = _THUMBPRINT_MEMBERS.get(jwk.get("kty", ""))
    if members is None:
        raise ValueError(f"Cannot take the thumbprint of a {jwk.get('kty')!r} key.")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def _check_alg(alg: str, allow_hs256: bool) -> None:
    if alg not in ALGORITHMS:
        raise ConfigurationError(
            f"JWT algorithm {alg!r} is not allowed. Use one of: EdDSA, ES256, RS256."
        )
    if alg == "HS256" and not allow_hs256:
        raise ConfigurationError(
            "HS256 keys are shared secrets: whoever can verify can also forge. "
            "Use EdDSA, ES256 or RS256, or set JWT_ALLOW_HS256 = True."
        )


def _check_key_type(alg: str, key: t.Any, private: bool) -> None:
    cls: type[t.Any]
    if alg == "HS256":
        ok = isinstance(key, bytes) and len(key) >= MIN_HMAC_BYTES
        what = f"a secret of at least {MIN_HMAC_BYTES} bytes"
    elif alg == "EdDSA":
        cls = ed25519.Ed25519PrivateKey if private else ed25519.Ed25519PublicKey
        ok, what = isinstance(key, cls), "an Ed25519 key"
    elif alg == "ES256":
        cls = ec.EllipticCurvePrivateKey if private else ec.EllipticCurvePublicKey
        ok = isinstance(key, cls) and isinstance(key.curve, ec.SECP256R1)
        what = "an EC P-256 key"
    else:
        cls = rsa.RSAPrivateKey if private else rsa.RSAPublicKey
        ok = isinstance(key, cls) and key.key_size >= MIN_RSA_BITS
        what = f"an RSA key of at least {MIN_RSA_BITS} bits"
    if not ok:
        kind = "private" if private and alg != "HS256" else "public"
        raise ConfigurationError(f"The {alg} key must be {what} ({kind} part).")


def public_jwk(alg: str, public_key: t.Any) -> dict[str, t.Any]:
    """Return the public JWK of ``public_key`` (no ``kid``, ``alg`` or ``use``)."""
    if alg == "HS256":
        raise ValueError("An HS256 secret has no public JWK and is never published.")
    return dict(_ALGS[alg].to_jwk(public_key, as_dict=True))


class VerificationKey:
    """A public key (or HS256 secret) with its ``kid`` and its one ``alg``.

    :param key: A ``cryptography`` public key, or the secret ``bytes`` for HS256.
    :param alg: The only algorithm this key verifies.
    :param kid: The key id, default the RFC 7638 thumbprint.
    :param allow_hs256: Accept an HS256 secret, default ``False``.
    """

    __slots__ = ("_check", "_prepared", "alg", "jwk", "key", "kid")

    def __init__(
        self, key: t.Any, alg: str, kid: str | None = None, *, allow_hs256: bool = False
    ) -> None:
        _check_alg(alg, allow_hs256)
        _check_key_type(alg, key, private=False)
        self.key = key
        self.alg = alg
        if alg == "HS256":
            data = {"kty": "oct", "k": _b64url(key)}
        else:
            data = public_jwk(alg, key)
        self.kid = kid or jwk_thumbprint(data)
        # The PyJWK carries the bound algorithm into PyJWT too (defence in depth).
        self.jwk = PyJWK({**data, "kid": self.kid, "alg": alg}, alg)
        self._prepare()

    @classmethod
    def from_pyjwk(cls, jwk: PyJWK, kid: str) -> VerificationKey:
        """Wrap a parsed JWK whose algorithm is already bound (raise if it is unusable)."""
        self = object.__new__(cls)
        self.key, self.alg, self.kid, self.jwk = jwk.key, jwk.algorithm_name, kid, jwk
        self._prepare()
        return self

    def _prepare(self) -> None:
        # Once per key, what PyJWT's decode does on every token: the bound
        # algorithm object, the prepared key, the minimum-length check.
        algorithm = self.jwk.Algorithm
        try:
            prepared = algorithm.prepare_key(self.jwk.key)
        except PyJWTError as e:
            raise ConfigurationError(f"The {self.alg} key {self.kid!r} is unusable: {e}") from None
        # SECURITY: a key below the minimum length is an error, never a warning.
        weak = algorithm.check_key_length(prepared)
        if weak:
            raise ConfigurationError(weak)
        self._prepared = prepared
        self._check = algorithm.verify

    def verify_signature(self, signing_input: bytes, signature: bytes) -> bool:
        """Tell whether ``signature`` is this key's signature of ``signing_input``."""
        try:
            return bool(self._check(signing_input, self._prepared, signature))
        except (ValueError, TypeError):
            return False  # SECURITY: a signature that cannot be checked is refused

    def public_jwk(self) -> dict[str, t.Any]:
        """Return the JWK published for this key, with ``kid``, ``alg`` and ``use``."""
        return {**public_jwk(self.alg, self.key), "kid": self.kid, "alg": self.alg, "use": "sig"}

    def __repr__(self) -> str:
        return f"<VerificationKey kid={self.kid!r} alg={self.alg!r}>"


class SigningKey:
    """A private key (or HS256 secret) with its ``kid`` and its one ``alg``.

    :param key: A ``cryptography`` private key, or the secret ``bytes`` for HS256.
    :param alg: The algorithm it signs with.
    :param kid: The key id, default the RFC 7638 thumbprint of the public key.
    :param allow_hs256: Accept an HS256 secret, default ``False``.
    """

    __slots__ = ("_key", "alg", "kid", "verification_key")

    def __init__(
        self, key: t.Any, alg: str, kid: str | None = None, *, allow_hs256: bool = False
    ) -> None:
        _check_alg(alg, allow_hs256)
        _check_key_type(alg, key, private=True)
        self._key = key
        self.alg = alg
        public = key if alg == "HS256" else key.public_key()
        self.verification_key = VerificationKey(public, alg, kid, allow_hs256=allow_hs256)
        self.kid = self.verification_key.kid

    @property
    def key(self) -> t.Any:
        """Return the private key (or secret)."""
        return self._key

    def __repr__(self) -> str:
        # SECURITY: never show key material.
        return f"<SigningKey kid={self.kid!r} alg={self.alg!r}>"


def generate_signing_key(alg: str = "EdDSA", kid: str | None = None) -> SigningKey:
    """Make a new random signing key for ``alg`` (default ``"EdDSA"``)."""
    key: t.Any
    if alg == "EdDSA":
        key = ed25519.Ed25519PrivateKey.generate()
    elif alg == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
    elif alg == "RS256":
        key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    elif alg == "HS256":
        return SigningKey(secrets.token_bytes(32), alg, kid, allow_hs256=True)
    else:
        _check_alg(alg, allow_hs256=False)
        raise AssertionError  # pragma: no cover
    return SigningKey(key, alg, kid)


def _as_bytes(data: str | bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


def load_key(
    pem: str | bytes, alg: str, kid: str | None = None, *, allow_hs256: bool = False
) -> SigningKey | VerificationKey:
    """Load a PEM private key (a :class:`SigningKey`) or public key (a :class:`VerificationKey`).

    For ``HS256`` the "PEM" is the secret itself, and a :class:`SigningKey`
    is returned.
    """
    data = _as_bytes(pem)
    if alg == "HS256":
        return SigningKey(data, alg, kid, allow_hs256=allow_hs256)
    if b"PRIVATE KEY" in data:
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as e:
            raise ConfigurationError(f"The {alg} private key cannot be read: {e}") from None
        return SigningKey(private, alg, kid, allow_hs256=allow_hs256)
    try:
        public = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as e:
        raise ConfigurationError(f"The {alg} public key cannot be read: {e}") from None
    return VerificationKey(public, alg, kid, allow_hs256=allow_hs256)


def private_pem(key: SigningKey) -> bytes:
    """Return the PKCS#8 PEM of ``key`` (unencrypted: store it as a secret)."""
    return t.cast(
        bytes,
        key.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def load_key_specs(
    specs: t.Sequence[t.Mapping[str, t.Any]], *, allow_hs256: bool = False
) -> list[SigningKey | VerificationKey]:
    """Load ``JWT_SIGNING_KEYS``-style specs: dicts of ``kid``, ``alg`` and ``pem`` or ``path``."""
    keys: list[SigningKey | VerificationKey] = []
    for i, spec in enumerate(specs):
        if not isinstance(spec, t.Mapping) or "alg" not in spec:
            raise ConfigurationError(
                f"JWT key #{i} must be a dict with 'alg' and 'pem' or 'path'"
                " (and optionally 'kid')."
            )
        if "pem" in spec:
            pem = spec["pem"]
        elif "path" in spec:
            try:
                with open(spec["path"], "rb") as f:
                    pem = f.read()
            except OSError as e:
                raise ConfigurationError(
                    f"JWT key #{i}: cannot read {spec['path']!r} ({e.strerror})."
                ) from None
        else:
            raise ConfigurationError(f"JWT key #{i} needs 'pem' or 'path'.")
        keys.append(load_key(pem, spec["alg"], spec.get("kid"), allow_hs256=allow_hs256))
    kids = [k.kid for k in keys]
    if len(set(kids)) != len(kids):
        raise ConfigurationError(f"JWT key ids must be unique, got {kids}.")
    return keys
