"""Serve one service with werkzeug's threaded server: ``python -m examples.reference.serve api``.

Settings come from the environment (``examples.reference.run`` sets them).
For production, run each ``create_app`` under gunicorn instead
(``gunicorn 'examples.reference.api:create_app()'``).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import typing as t

from werkzeug.serving import make_server

SERVICES = ("identity", "api", "web")


def main(argv: t.Sequence[str] | None = None) -> int:
    """Parse the arguments, create the app, serve until SIGTERM or Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("service", choices=SERVICES)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    app = importlib.import_module(f"examples.reference.{args.service}").create_app()
    app.security_check()  # refuse to start on a weak configuration, before binding
    # hermetic's access log (one JSON line per request) replaces werkzeug's.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server(args.host, args.port, app, threaded=True)

    def stop(_signum: int, _frame: t.Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
