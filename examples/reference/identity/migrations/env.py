"""Alembic environment of the identity service (see examples/reference/common/_alembic_env.py)."""

from alembic import context
from examples.reference.common._alembic_env import run
from examples.reference.identity.models import Base

run(context, Base.metadata, "identity")
