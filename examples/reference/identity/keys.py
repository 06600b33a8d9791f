"""Identity's signing keys in a folder, and their rotation.

Each key is a PEM file ``<created>-<kid>.pem`` (``created`` in epoch
seconds). The newest key signs; the older ones are still published in the
JWKS, so tokens they signed keep verifying until they expire: a key
retired at time *r* (when its successor was made) is kept until
``r + JWT_MAX_TTL + JWT_LEEWAY``, then pruned.
"""

from __future__ import annotations

import os
import re
import time
import typing as t

from hermetic.security.jwt import generate_signing_key, private_pem

_NAME = re.compile(r"^(\d+)-([A-Za-z0-9_-]{1,128})\.pem$")


class KeyDirectory:
    """The signing keys kept in ``path``.

    :param path: the folder (created with mode ``0700`` when missing).
    :param keep_for: seconds a retired key stays published: the longest
        token lifetime plus the leeway.
    :param now: the clock, default :func:`time.time`.
    """

    def __init__(
        self, path: str, keep_for: float, *, now: t.Callable[[], float] = time.time
    ) -> None:
        self.path = path
        self.keep_for = keep_for
        self.now = now

    def _entries(self) -> list[tuple[int, str, str]]:
        if not os.path.isdir(self.path):
            return []
        entries = []
        for name in os.listdir(self.path):
            match = _NAME.match(name)
            if match:
                entries.append((int(match.group(1)), match.group(2), name))
        # Newest first; the kid breaks ties so the order is stable.
        return sorted(entries, reverse=True)

    def specs(self) -> list[dict[str, t.Any]]:
        """Return ``JWT_SIGNING_KEYS``: the current key first, then the retired ones still kept."""
        specs = []
        for _created, kid, name in self._live():
            with open(os.path.join(self.path, name), "rb") as f:
                specs.append({"alg": "EdDSA", "kid": kid, "pem": f.read()})
        return specs

    def _live(self) -> list[tuple[int, str, str]]:
        entries = self._entries()
        now = self.now()
        live = entries[:1]
        for (retired_at, _kid, _name), entry in zip(entries, entries[1:], strict=False):
            # entry was retired when the key before it in the list was made.
            if now < retired_at + self.keep_for:
                live.append(entry)
        return live

    def ensure(self) -> str:
        """Make a first key when there is none; return the current kid."""
        entries = self._entries()
        return entries[0][1] if entries else self.rotate()

    def rotate(self) -> str:
        """Make a new current key, prune keys nobody can need any more; return the new kid."""
        os.makedirs(self.path, mode=0o700, exist_ok=True)
        created = int(self.now())
        newest = self._entries()
        if newest and newest[0][0] >= created:
            created = newest[0][0] + 1  # two rotations in one second stay ordered
        key = generate_signing_key("EdDSA")
        name = os.path.join(self.path, f"{created}-{key.kid}.pem")
        # SECURITY: the private key is readable by its owner only.
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(private_pem(key))
        self.prune()
        return key.kid

    def prune(self) -> list[str]:
        """Delete the retired keys past their keeping time; return their kids."""
        live = {name for _c, _k, name in self._live()}
        removed = []
        for _created, kid, name in self._entries():
            if name not in live:
                os.remove(os.path.join(self.path, name))
                removed.append(kid)
        return removed
