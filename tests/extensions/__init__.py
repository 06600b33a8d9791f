"""Real Flask extensions from PyPI, running on hermetic through the ``flask`` alias.

What this proves: an application that ``import flask`` and uses Flask-Login,
Flask-WTF, Flask-SQLAlchemy or Flask-CORS works unchanged once
``hermetic.compat.install_as_flask()`` has run, without real Flask installed.

Setup (real Flask must never be installed next to hermetic, and every
extension declares it as a dependency, hence ``--no-deps``)::

    pip install -e '.[test]'
    pip install --no-deps -r requirements/extensions.txt

``pip check`` then reports "requires flask, which is not installed" for each
extension: that is expected, hermetic provides ``flask`` at run time.

Layout:

``app_<extension>.py``
    A small application plus the checks that drive it with the test client.
    It runs as its own process because ``install_as_flask()`` rewrites
    ``sys.modules``; its first act is that call, before anything imports
    ``flask`` or the extension.
``_harness.py``
    Runs an app module's checks one by one and prints ``PASS name`` or
    ``FAIL name`` plus the traceback, and ``WARN`` for any unexpected warning
    (a check fails on those too). The first check of every app is ``alias``:
    ``flask.Flask is hermetic.Flask``.
``test_extensions.py``
    Lists each extension's checks; runs every app module once
    (``sys.executable``) and turns each reported check into a pytest test, so
    a failure names the feature that broke. An extension that is not
    installed is skipped, with the install command.
"""
