"""The Flask release whose API and behaviour hermetic provides."""

#: One constant for the alias, its metadata and the tests that compare
#: the alias with real Flask (tests/compat/).
FLASK_VERSION = "3.1.3"
