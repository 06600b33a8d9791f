"""Alembic environment of the api service (see examples/reference/common/_alembic_env.py)."""

from alembic import context
from examples.reference.api.models import Base
from examples.reference.common._alembic_env import run

run(context, Base.metadata, "api")
