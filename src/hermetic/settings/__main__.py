"""``python -m hermetic.settings [--check] [PATH]``: write or check the configuration reference.

Without ``PATH`` the page goes to standard output. With ``--check`` the
file at ``PATH`` is compared with the declarations and the exit status is
1 when it is out of date.
"""

from __future__ import annotations

import sys

from ._catalog import reference


def main(argv: list[str] | None = None) -> int:
    """Run the command; return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    paths = [a for a in args if a != "--check"]
    if len(paths) > 1 or (check and not paths) or any(p.startswith("-") for p in paths):
        print("usage: python -m hermetic.settings [--check] [PATH]", file=sys.stderr)
        return 2
    page = reference()
    if not paths:
        sys.stdout.write(page)
        return 0
    path = paths[0]
    if check:
        try:
            with open(path, encoding="utf-8") as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current != page:
            print(
                f"{path} is out of date with the settings declarations."
                " Fix: run scripts/config-reference.",
                file=sys.stderr,
            )
            return 1
        return 0
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
