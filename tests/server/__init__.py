"""Real servers (gunicorn, granian) under malformed traffic."""
