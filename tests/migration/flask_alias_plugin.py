"""A pytest plugin for flaskr's own tests: ``import flask`` gives hermetic.

flaskr's tests stay as they are (``from flask import g, session``); the app
itself imports hermetic after step 1 of the migration guide.
"""

from hermetic.compat import install_as_flask

install_as_flask()
