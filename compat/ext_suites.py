"""Run real Flask extensions' own test suites on real Flask and on hermetic.

    scripts/ext-suites list
    scripts/ext-suites run SUITE|all TARGET [PYTEST_ARGS...]   TARGET: flask | hermetic
    scripts/ext-suites gate [LEVELS]     hermetic runs vs .ci/ext-levels (CI)

Each suite (compat/ext-suites.cfg) gets its tests from the extension's sdist
on PyPI and two cached venvs: ``flask`` (real Flask 3.1.3, the baseline) and
``hermetic`` (this repository, ``pip install -e``; no real Flask, ``flask``
is ``hermetic.compat.install_as_flask()`` through a ``.pth`` file and a
``flask`` command). Every run ends with one line per suite::

    <suite> <target>: P passed, F failed, E errors, S skipped

Environment: EXT_CACHE (/tmp/hermetic-ext-suites), EXT_JOBS (4 suites at a
time), EXT_REINSTALL=1 (rebuild venvs), EXT_PYTHON (python3),
EXT_TEST_TIMEOUT (120 s per test), EXT_SUITE_TIMEOUT (600 s per suite).
Exit status: 0 success, 1 failures (or a level dropped), 2 usage, 3 setup.
"""

from __future__ import annotations

import concurrent.futures
import configparser
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SUITES_FILE = HERE / "ext-suites.cfg"
CONSTRAINTS = HERE / "ext-constraints.txt"
PLUGIN_DIR = HERE / "plugin"
LEVELS_FILE = REPO / ".ci" / "ext-levels"
FLASK_SPEC = "Flask==3.1.3"
# pytest < 9 like the project's own tests; pytest-timeout bounds every test.
BASE_DEPS = ["pytest>=8,<9", "pytest-timeout"]
TARGETS = ("flask", "hermetic")
#: bump when the venv layout changes (forces rebuilds)
LAYOUT = "1"

ALIAS_MODULE = '''\
"""Written by hermetic's scripts/ext-suites: `import flask` gives hermetic."""

import hermetic.compat

hermetic.compat.install_as_flask()
'''
# Active only when the runner sets HERMETIC_FLASK_ALIAS=1, so pip in this venv
# never imports hermetic; subprocesses of a test run inherit it.
ALIAS_PTH = 'import os; os.environ.get("HERMETIC_FLASK_ALIAS") == "1" and __import__("_hermetic_flask_alias")\n'
FLASK_COMMAND = """\
#!{python}
# Written by hermetic's scripts/ext-suites: the `flask` command, on hermetic.
import sys

import hermetic.compat

hermetic.compat.install_as_flask()
from hermetic.cli import main  # noqa: E402

sys.exit(main())
"""


class SetupError(Exception):
    """A suite could not be prepared (download, extract, venv)."""


class Suite:
    def __init__(self, name: str, section: configparser.SectionProxy) -> None:
        self.name = name
        self.ext = section["ext"]
        self.tests = section.get("tests", "tests").split()
        self.deps = section.get("deps", "").split()
        self.nodeps = section.get("nodeps", "").split()
        self.ini = "[pytest]\n"
        for key, value in section.items():
            if key.startswith("pytest."):
                values = value.strip().splitlines()
                sep = "\n    " if len(values) > 1 else " "
                self.ini += f"{key[len('pytest.') :]} ={sep}{sep.join(values)}\n"
        self.args = section.get("args", "").split()
        self.known_fail = section.get("known_fail", "").split()
        self.deselect_fixtures = section.get("deselect_fixtures", "").split()
        # what the venvs are built from (test settings do not rebuild them)
        self.install_key = "\n".join([self.ext, *self.deps, "--no-deps", *self.nodeps])


def load_suites() -> dict[str, Suite]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(SUITES_FILE, encoding="utf-8")
    return {name: Suite(name, parser[name]) for name in parser.sections()}


def cache_dir() -> Path:
    return Path(os.environ.get("EXT_CACHE", "/tmp/hermetic-ext-suites"))


def python() -> str:
    return os.environ.get("EXT_PYTHON", "python3")


def _sha(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


class _Lock:
    """An flock on a file under the cache: runs in parallel never share a half-built dir."""

    def __init__(self, name: str) -> None:
        self.path = cache_dir() / "locks" / f"{name}.lock"

    def __enter__(self) -> _Lock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.path, "w")
        fcntl.flock(self.file, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()


def _run_logged(cmd: list[str], log: Path) -> None:
    with open(log, "a", encoding="utf-8") as out:
        out.write("+ " + " ".join(cmd) + "\n")
        out.flush()
        rc = subprocess.run(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        ).returncode
    if rc != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-12:]
        raise SetupError(
            f"{' '.join(cmd[:4])} ... failed (exit {rc}); log: {log}\n    " + "\n    ".join(tail)
        )


def fetch_sdist(spec: str) -> Path:
    """The sdist of ``spec`` (``NAME==VERSION``) from PyPI, cached."""
    d = cache_dir() / "sdists" / spec
    with _Lock(f"sdist-{spec}"):
        found = sorted(d.glob("*.tar.gz")) + sorted(d.glob("*.zip"))
        if not found:
            d.mkdir(parents=True, exist_ok=True)
            log = cache_dir() / "logs" / f"sdist-{spec}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            cmd = [python(), "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps"]
            _run_logged([*cmd, spec, "-d", str(d)], log)
            found = sorted(d.glob("*.tar.gz")) + sorted(d.glob("*.zip"))
        if not found:
            raise SetupError(f"pip download {spec} gave no sdist in {d}")
        return found[0]


def extract_tests(suite: Suite, target: str) -> Path:
    """The suite's test files (and pytest.ini) in a directory of their own per target."""
    root = cache_dir() / "src" / f"{suite.name}-{target}"
    want = _sha(LAYOUT, suite.ext, *suite.tests, suite.ini)
    stamp = root / ".ext-extracted"
    if stamp.is_file() and stamp.read_text() == want:
        return root
    sdist = fetch_sdist(suite.ext)
    shutil.rmtree(root, ignore_errors=True)
    tmp = root.with_name(root.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with tarfile.open(sdist) as tar:
        top = tar.getnames()[0].split("/")[0]
        tar.extractall(tmp, filter="data")
    root.mkdir(parents=True)
    for item in suite.tests:
        src, _, dst = item.partition(":")
        source, dest = tmp / top / src, root / (dst or src)
        if not source.exists():
            raise SetupError(f"{suite.ext}: the sdist has no {src!r}; fix 'tests' in {SUITES_FILE}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, dest)
        else:
            shutil.copy2(source, dest)
    shutil.rmtree(tmp)
    (root / "pytest.ini").write_text(suite.ini, encoding="utf-8")
    stamp.write_text(want)
    return root


def _hermetic_key() -> str:
    return str(REPO) + (REPO / "pyproject.toml").read_text(encoding="utf-8")


def venv_key(suite: Suite, target: str) -> str:
    cons = CONSTRAINTS.read_text(encoding="utf-8") if CONSTRAINTS.is_file() else ""
    extra = _hermetic_key() if target == "hermetic" else FLASK_SPEC
    return _sha(LAYOUT, target, sys.version, python(), *BASE_DEPS, suite.install_key, cons, extra)


def venv_python(v: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(v / "bin" / "python"), *args], capture_output=True, text=True)


def build_venv(suite: Suite, target: str) -> Path:
    """The suite's venv for ``target``, built once per key."""
    v = cache_dir() / "venvs" / f"{suite.name}-{target}"
    stamp = v / ".ext-stamp"
    key = venv_key(suite, target)
    if not os.environ.get("EXT_REINSTALL") and stamp.is_file() and stamp.read_text() == key:
        return v
    log = cache_dir() / "logs" / f"{suite.name}-{target}.setup.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    shutil.rmtree(v, ignore_errors=True)
    _run_logged([python(), "-m", "venv", str(v)], log)
    pip = [str(v / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    cons = ["-c", str(CONSTRAINTS)] if CONSTRAINTS.is_file() else []
    own = [FLASK_SPEC] if target == "flask" else ["-e", str(REPO)]
    _run_logged([*pip, *cons, *BASE_DEPS, *suite.deps, *own], log)
    _run_logged([*pip, *cons, "--no-deps", suite.ext, *suite.nodeps], log)
    if target == "hermetic":
        _guard_no_real_flask(v, log)
        site = venv_python(v, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
        purelib = Path(site.stdout.strip())
        (purelib / "_hermetic_flask_alias.py").write_text(ALIAS_MODULE, encoding="utf-8")
        (purelib / "hermetic_flask_alias.pth").write_text(ALIAS_PTH, encoding="utf-8")
        command = v / "bin" / "flask"
        command.write_text(FLASK_COMMAND.format(python=v / "bin" / "python"), encoding="utf-8")
        command.chmod(0o755)
    stamp.write_text(key)
    return v


def _guard_no_real_flask(v: Path, log: Path) -> None:
    """The guard: with a real Flask importable, the "hermetic" run could be testing Flask."""
    probe = venv_python(
        v,
        "-c",
        "import importlib.util as u; s = u.find_spec('flask'); print(s.origin if s else '')",
    )
    if probe.returncode != 0 or probe.stdout.strip():
        raise SetupError(
            f"Cause: real Flask is importable in the hermetic venv {v} ({probe.stdout.strip() or probe.stderr.strip()}). "
            f"Fix: move the package that pulled it to 'nodeps' in {SUITES_FILE.name} (log: {log})."
        )


def summary(name: str, target: str, counts: dict[str, int]) -> str:
    return (
        f"{name} {target}: {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['errors']} errors, {counts['skipped']} skipped"
    )


def run_suite(suite: Suite, target: str, extra: list[str]) -> tuple[str, dict[str, int], str]:
    """Run one suite; returns (summary line, counts, notes for the console)."""
    t0 = time.monotonic()
    counts = {"passed": 0, "failed": 0, "errors": 1, "skipped": 0}
    logs = cache_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log, result = logs / f"{suite.name}-{target}.log", logs / f"{suite.name}-{target}.result.json"
    try:
        with _Lock(f"{suite.name}-{target}"):
            root = extract_tests(suite, target)
            v = build_venv(suite, target)
            result.unlink(missing_ok=True)
            args = [
                str(v / "bin" / "python"), "-m", "pytest", "-p", "ext_harness", "-rfEs", "--tb=short", "--continue-on-collection-errors",
                f"--timeout={os.environ.get('EXT_TEST_TIMEOUT', '120')}", *suite.args,
            ]  # fmt: skip
            for nodeid in suite.known_fail:
                args += ["--deselect", nodeid]
            env = {k: val for k, val in os.environ.items() if k not in ("PYTHONHOME", "FLASK_APP")}
            env.update(
                EXT_TARGET=target,
                EXT_RESULT_FILE=str(result),
                EXT_DESELECT_FIXTURES=" ".join(suite.deselect_fixtures),
                PYTHONPATH=str(PLUGIN_DIR),
                PATH=f"{v / 'bin'}{os.pathsep}{env.get('PATH', '')}",
                VIRTUAL_ENV=str(v),
            )
            if target == "hermetic":
                env["HERMETIC_FLASK_ALIAS"] = "1"
            timeout = float(os.environ.get("EXT_SUITE_TIMEOUT", "600"))
            with open(log, "w", encoding="utf-8") as out:
                try:
                    subprocess.run(
                        [*args, *extra], cwd=root, env=env, stdout=out,
                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=timeout,
                    )  # fmt: skip
                except subprocess.TimeoutExpired:
                    out.write(f"\next_suites: pytest timed out after {timeout:.0f}s\n")
        if result.is_file():
            counts = json.loads(result.read_text())
            note = f"log: {log}"
        else:
            errors = [ln for ln in log.read_text(errors="replace").splitlines() if "ERROR" in ln]
            note = f"ERROR: pytest ended without a result; see {log}"
            note += "".join(f"\n    {ln}" for ln in errors[-3:])
    except SetupError as e:
        note = f"ERROR: {e}"
    note += f" ({time.monotonic() - t0:.1f}s)"
    return summary(suite.name, target, counts), counts, note


def run_many(names: list[str], target: str, extra: list[str]) -> dict[str, dict[str, int]]:
    suites = load_suites()
    jobs = max(1, int(os.environ.get("EXT_JOBS", "4")))
    results: dict[str, tuple[str, dict[str, int], str]] = {}
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        futures = {pool.submit(run_suite, suites[n], target, extra): n for n in names}
        for future in concurrent.futures.as_completed(futures):
            name = futures[future]
            results[name] = future.result()
            print(f"ext-suites: {results[name][0]}  [{results[name][2]}]", flush=True)
    for name in names:
        print(results[name][0])
    return {name: results[name][1] for name in names}


def read_levels(path: Path) -> dict[str, int]:
    levels = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split("#", 1)[0].split()
        if fields:
            levels[fields[0]] = int(fields[1])
    return levels


def gate(path: Path) -> int:
    """Run every suite of the levels file on hermetic; fail when one drops below its level."""
    t0 = time.monotonic()
    levels = read_levels(path)
    suites = load_suites()
    unknown = sorted(set(levels) - set(suites))
    if unknown:
        print(f"ERROR: {path} names suites missing from {SUITES_FILE.name}: {unknown}")
        return 2
    counts = run_many(list(levels), "hermetic", [])
    status = 0
    for name, level in levels.items():
        if counts[name]["passed"] < level:
            print(
                f"FAIL: {name} passed {counts[name]['passed']} tests on hermetic, below its level {level}"
            )
            status = 1
    total = {
        k: sum(c[k] for c in counts.values()) for k in ("passed", "failed", "errors", "skipped")
    }
    print(f"ext-suites: gate wall time {time.monotonic() - t0:.0f}s")
    print(summary("ext-suites", "hermetic", total))
    return status


def main(argv: list[str]) -> int:
    usage = (__doc__ or "").split("\n\n")[1]
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage)
        return 2
    suites = load_suites()
    if argv[0] == "list":
        for name, suite in suites.items():
            print(f"{name:22} {suite.ext}")
        return 0
    if argv[0] == "gate":
        return gate(Path(argv[1]) if len(argv) > 1 else LEVELS_FILE)
    if argv[0] == "run" and len(argv) >= 3 and argv[2] in TARGETS:
        names = list(suites) if argv[1] == "all" else [argv[1]]
        if names[0] not in suites:
            print(f"ERROR: unknown suite {argv[1]!r}; known: {', '.join(suites)}")
            return 2
        counts = run_many(names, argv[2], argv[3:])
        if len(names) > 1:
            total = {
                k: sum(c[k] for c in counts.values())
                for k in ("passed", "failed", "errors", "skipped")
            }
            print(summary("all", argv[2], total))
        bad = any(c["failed"] or c["errors"] for c in counts.values())
        return 1 if bad else 0
    print(usage)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:  # `scripts/ext-suites ... | head`
        sys.exit(1)
