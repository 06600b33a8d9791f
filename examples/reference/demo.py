"""Demo data for ``./scripts/example``: two accounts with fresh passwords, a few notes."""

from __future__ import annotations

import secrets
import typing as t

from .common.db import session


def _password() -> str:
    # Four groups of five characters: easy to type from the terminal.
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))


def seed(identity_app: t.Any, api_app: t.Any) -> list[tuple[str, str, str]]:
    """Create the demo accounts and notes; return ``(email, password, role)`` rows."""
    from .api.models import Member, Note
    from .identity.accounts import create_user

    accounts = [
        ("admin@example.com", "Ada Admin", True),
        ("member@example.com", "Max Member", False),
    ]
    rows = []
    subs = {}
    with identity_app.app_context():
        for email, name, admin in accounts:
            password = _password()
            user = create_user(email, name, password, admin=admin)
            subs[email] = user.get_id()
            rows.append((email, password, "admin" if admin else "member"))
    with api_app.app_context():
        db = session()
        members = {email: Member(sub=sub, email=email) for email, sub in subs.items()}
        db.add_all(members.values())
        admin, member = members["admin@example.com"], members["member@example.com"]
        welcome = Note(
            owner=admin,
            title="Welcome to the reference system",
            body="This note is shared with member@example.com, who can read it but not edit it.",
        )
        welcome.shared_with.append(member)
        db.add_all(
            [
                welcome,
                Note(owner=member, title="Groceries", body="milk, bread, coffee"),
                Note(
                    owner=member,
                    title="Ideas",
                    body="Try deleting me: a confirmation dialog asks first.",
                ),
            ]
        )
        db.commit()
    return rows
