"""Compare hermetic's JWT-protected, validated JSON route with Flask-JWT-Extended and pydantic.

The work is the same on both sides: ``POST /notes`` with ``Authorization:
Bearer <token>`` (one token, signed once with one ES256 or EdDSA key, given
to both), the signature and the claims (``exp``, ``iss``, ``aud``) verified,
the scope ``notes:write`` required, the JSON body validated by a pydantic
model, and the answer filtered through a response model (a field the view
returns but the model does not declare must not leave). hermetic does it
with ``JWTAuth`` + ``@jwt_required(scopes=...)`` + ``@validate``; the stack
with real Flask 3.1.3, Flask-JWT-Extended and pydantic called by hand.
Run through ``bench/run jwt_api.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from web_profile import (
    Prepared,
    WSGIApp,
    _clock,
    call_once,
    make_environ,
    parse_args,
    run,
)

ISSUER = "https://auth.example.com"
AUDIENCE = "notes-api"
SUBJECT = "svc-reporting"
KID = "bench-key-1"
TOKEN_TTL = 3600
TARGET = 1 / 8

NOTE = {"title": "Groceries", "body": "milk, eggs, bread", "tags": ["home", "todo"]}
#: What the view returns beyond the response model: must be filtered out.
INTERNAL = {"owner_email": "ops@example.com", "storage_key": "s3://notes/17"}
EXPECTED = {"id": 17, "title": "Groceries", "tags": ["home", "todo"], "owner": SUBJECT}


class NoteIn(BaseModel):
    """The body of ``POST /notes``."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=10_000)
    tags: list[str] = Field(default_factory=list, max_length=10)


class NoteOut(BaseModel):
    """What a client may see of a note."""

    id: int
    title: str
    tags: list[str]
    owner: str


def stored_note(note: NoteIn, owner: str) -> dict[str, Any]:
    """Return the note as the storage layer would, internal fields included."""
    return {"id": 17, "title": note.title, "tags": note.tags, "owner": owner, **INTERNAL}


# -- keys and the shared token ----------------------------------------------


class Keys:
    """One signing key, its PEMs, and one token, shared by both sides."""

    alg = "ES256"
    private_pem = b""
    public_pem = b""
    token = ""
    token_without_scope = ""

    @classmethod
    def make(cls, alg: str) -> None:
        """Generate the key and sign the benchmark's tokens with hermetic's issuer."""
        from cryptography.hazmat.primitives import serialization

        from hermetic.security.jwt import TokenIssuer, generate_signing_key, private_pem

        key = generate_signing_key(alg, KID)
        cls.alg = alg
        cls.private_pem = private_pem(key)
        cls.public_pem = key.verification_key.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        issuer = TokenIssuer(key, ISSUER, ttl=TOKEN_TTL, max_ttl=TOKEN_TTL)
        cls.token = issuer.issue(SUBJECT, AUDIENCE, "notes:read notes:write")
        cls.token_without_scope = issuer.issue(SUBJECT, AUDIENCE, "notes:read")


def hermetic_config() -> dict[str, Any]:
    """Return the ``JWT_*`` settings of both hermetic apps."""
    return {
        "SECRET_KEY": "bench-3f9c1a7e5d2b8046c1e9a7f3b5d2c8e0a4f6b1d9",
        "JWT_ISSUER": ISSUER,
        "JWT_SIGNING_KEYS": [{"kid": KID, "alg": Keys.alg, "pem": Keys.private_pem}],
        "JWT_AUDIENCE": AUDIENCE,
        "JWT_MAX_TTL": TOKEN_TTL,
        # hermetic's default, stated: the same token is sent on every request,
        # and Flask-JWT-Extended has no replay cache (see README).
        "JWT_REPLAY_CHECK": False,
        **({} if _verified_cache[0] is None else {"JWT_VERIFIED_CACHE_SIZE": _verified_cache[0]}),
    }


#: ``--verified-cache N``: hermetic's ``JWT_VERIFIED_CACHE_SIZE`` (``None``: its default).
_verified_cache: list[int | None] = [None]


# -- the apps ---------------------------------------------------------------


def build_hermetic() -> WSGIApp:
    """Build the route on a plain ``hermetic.Flask``: the stack's work, nothing more."""
    import hermetic
    from hermetic.security.jwt import JWTAuth, current_principal, jwt_required
    from hermetic.security.validation import validate

    app = hermetic.Flask(__name__)
    app.config.update(hermetic_config())
    JWTAuth(app)

    @app.post("/notes")
    @jwt_required(scopes="notes:write")
    @validate(response=NoteOut, status=201)
    def create_note(note: NoteIn) -> dict[str, Any]:
        principal = current_principal()
        assert principal is not None
        return stored_note(note, principal.sub)

    return app


def build_hermetic_full() -> WSGIApp:
    """Build the route on ``hermetic.Hermetic``: every default shield on as well."""
    import hermetic
    from hermetic.security.auth import current_user
    from hermetic.security.jwt import JWTAuth
    from hermetic.security.policy import requires
    from hermetic.security.validation import validate

    app = hermetic.Hermetic(__name__)
    app.config.update(hermetic_config())
    JWTAuth(app)

    @app.post("/notes")
    @requires("notes:write")
    @validate(response=NoteOut, status=201)
    def create_note(note: NoteIn) -> dict[str, Any]:
        return stored_note(note, current_user.get_id())

    return app


def build_stack() -> WSGIApp:
    """Build the route with real Flask, Flask-JWT-Extended and pydantic."""
    import flask
    from flask import request
    from flask_jwt_extended import JWTManager, get_jwt, jwt_required

    app = flask.Flask(__name__)
    app.config.update(
        JWT_ALGORITHM=Keys.alg,
        JWT_DECODE_ALGORITHMS=[Keys.alg],
        JWT_PRIVATE_KEY=Keys.private_pem,
        JWT_PUBLIC_KEY=Keys.public_pem,
        JWT_DECODE_AUDIENCE=AUDIENCE,
        JWT_DECODE_ISSUER=ISSUER,
        JWT_TOKEN_LOCATION=["headers"],
    )
    JWTManager(app)

    def scope_required(scope: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                if scope not in get_jwt().get("scope", "").split():
                    return {"msg": f"The token lacks the scope {scope}."}, 403
                return view(*args, **kwargs)

            wrapper.__name__ = view.__name__
            return jwt_required()(wrapper)

        return decorator

    @app.post("/notes")
    @scope_required("notes:write")
    def create_note() -> Any:
        try:
            note = NoteIn.model_validate(request.get_json())
        except ValidationError as e:
            return {"errors": e.errors(include_url=False, include_context=False)}, 422
        out = NoteOut.model_validate(stored_note(note, get_jwt()["sub"]))
        return out.model_dump(), 201

    return app


BUILDERS: dict[str, Callable[[], WSGIApp]] = {
    "hermetic": build_hermetic,
    "hermetic-full": build_hermetic_full,
    "stack": build_stack,
}
DISTRIBUTIONS = {
    "hermetic": ("hermetic", "PyJWT", "pydantic"),
    "hermetic-full": ("hermetic", "PyJWT", "pydantic"),
    "stack": ("Flask", "Flask-JWT-Extended", "PyJWT", "pydantic"),
}


# -- requests ---------------------------------------------------------------


def notes_environ(token: str | None, body: bytes) -> dict[str, Any]:
    """Return the environ of ``POST /notes`` with ``token`` and a JSON ``body``."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return make_environ("POST", "/notes", headers, body)


def check_created(status: str, headers: dict[str, str], body: bytes) -> str | None:
    """Return what is wrong with the answer to a valid ``POST /notes``, or ``None``."""
    if not status.startswith("201") or not headers.get("content-type", "").startswith(
        "application/json"
    ):
        return f"status {status!r}, content-type {headers.get('content-type')!r}"
    try:
        data = json.loads(body)
    except ValueError:
        return "the body is not JSON"
    if data != EXPECTED:
        return f"body {data!r}, expected {EXPECTED!r} (internal fields filtered out)"
    return None


def prepare(name: str, app: WSGIApp) -> dict[str, Prepared]:
    """Build the request, check the answer, and check that bad requests are refused."""
    body = json.dumps(NOTE).encode()
    cases = {"create": Prepared(notes_environ(Keys.token, body), body, check_created)}
    for case, prep in cases.items():
        status, headers, data = call_once(app, prep.environ, prep.body)
        problem = prep.check(status, headers, data)
        if problem:
            sys.exit(f"error: {name} {case}: {problem}; body {data[:300]!r}")
        # The token is not single-use here: the second answer must be the same.
        status, headers, data = call_once(app, prep.environ, prep.body)
        if prep.check(status, headers, data):
            sys.exit(f"error: {name} {case}: the token works only once ({status!r})")
    # The defences must be real on both sides.
    bad_body = json.dumps({"title": "", "tags": "x", "extra": 1}).encode()
    tampered = Keys.token[:-6] + ("AAAAAA" if not Keys.token.endswith("AAAAAA") else "BBBBBB")
    refusals = {
        "no token": (notes_environ(None, body), body, ("401",)),
        "bad signature": (notes_environ(tampered, body), body, ("401", "422")),
        "missing scope": (notes_environ(Keys.token_without_scope, body), body, ("403",)),
        "invalid body": (notes_environ(Keys.token, bad_body), bad_body, ("400", "422")),
    }
    for what, (environ, data, codes) in refusals.items():
        status, _, answer = call_once(app, environ, data)
        if not status.startswith(codes):
            sys.exit(f"error: {name} answered {status!r} to {what}: {answer[:200]!r}")
    return cases


CASES = {"create": "POST /notes, bearer JWT + scope, pydantic body and response"}


def main(argv: list[str] | None = None) -> int:
    """Time the JWT-protected JSON route on hermetic and the Flask stack."""

    def add_alg(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--alg", choices=("ES256", "EdDSA"), default="ES256", help="the token's algorithm"
        )
        parser.add_argument(
            "--verified-cache",
            type=int,
            metavar="N",
            help="hermetic's JWT_VERIFIED_CACHE_SIZE (0: verify the signature every time)",
        )

    # hermetic-full is opt-in: every Hermetic app adds a SecretsFilter to the
    # process-wide audit logger, which would slow the plain app's audit too.
    args = parse_args(argv, __doc__, CASES, list(BUILDERS), add_alg, ["hermetic", "stack"])
    Keys.make(args.alg)
    _verified_cache[0] = args.verified_cache
    cache = "default" if args.verified_cache is None else args.verified_cache
    print(f"  token algorithm: {args.alg}, JWT_VERIFIED_CACHE_SIZE {cache}", file=sys.stderr)
    after = None
    if args.verified_cache == 0:

        def after(best: dict[str, dict[str, float]]) -> None:
            print_signature_share(best["create"], args.repeat, args.number)

    return run(args, BUILDERS, prepare, DISTRIBUTIONS, "create", TARGET, "1/8", after)


def print_signature_share(best: dict[str, float], repeat: int, number: int) -> None:
    """Print what the signature check alone costs, in this run and on this clock.

    With the verified-token cache off, both sides check the token's signature
    on every request with the same library (``cryptography``, through
    PyJWT); that shared cost bounds the ratio from below, whatever the
    framework does around it.
    """
    import jwt

    signing_input, _, signature = Keys.token.rpartition(".")
    algorithm = jwt.algorithms.get_default_algorithms()[Keys.alg]
    key = algorithm.prepare_key(Keys.public_pem)
    raw = jwt.utils.base64url_decode(signature)
    message = signing_input.encode()
    if not algorithm.verify(message, key, raw):
        sys.exit("error: the token's signature does not verify")
    clock = _clock[0]
    check = None
    for _ in range(repeat):
        start = clock()
        for _ in range(number):
            algorithm.verify(message, key, raw)
        took = (clock() - start) / number / 1000
        check = took if check is None else min(check, took)
    assert check is not None
    print(
        f"signature check alone ({Keys.alg}, PyJWT's algorithm.verify): {check:.2f} us/req;"
        " both sides pay it on every request with the cache off"
    )
    stack = best.get("stack")
    if stack is not None and stack > check:
        print(f"lowest reachable hermetic/stack (signature check only) = {check / stack:.3f}")
        for name, us in best.items():
            if name != "stack":
                share = (us - check) / (stack - check)
                print(f"without the signature check: {name}/stack = {share:.3f}")


if __name__ == "__main__":
    sys.exit(main())
