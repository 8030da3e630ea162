"""The JavaScript unit tests (tests/js, `node --test`, no npm packages) run with the Python suite."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JS_TESTS = ROOT / "tests" / "js"
# node:test's mock timers with Date: node 20.11 / 21.2.
MINIMUM_NODE = (20, 11)


def node_or_skip() -> str:
    """The node binary; without one (or one too old) skip, unless REQUIRE_SERVICES=1 says fail."""
    required = os.environ.get("REQUIRE_SERVICES") == "1"
    node = shutil.which("node")
    problem = "node is not installed"
    if node is not None:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
        found = tuple(int(part) for part in re.findall(r"\d+", version)[:2])
        if found >= MINIMUM_NODE:
            return node
        problem = f"node {version} is older than {'.'.join(map(str, MINIMUM_NODE))}"
    if required:
        pytest.fail(f"REQUIRE_SERVICES=1: {problem}")
    pytest.skip(problem)


def test_js_unit_tests_pass() -> None:
    node = node_or_skip()
    files = sorted(str(path.relative_to(ROOT)) for path in JS_TESTS.glob("**/*.test.mjs"))
    assert files, "no tests/js/*.test.mjs found"
    # The socket's reconnects and resumes, and the message store it shares with the panels.
    missing = {"tests/js/socket.test.mjs", "tests/js/store.test.mjs"} - set(files)
    assert not missing, f"expected JS unit tests not found: {sorted(missing)}"
    # The files by name rather than `node --test tests/js/`: from node 21 on a directory argument is
    # taken for a test file (nodejs/node#50219); on node 20 both run the same files.
    result = subprocess.run(
        [node, "--test", *files], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    summary = "\n".join(line for line in result.stdout.splitlines() if line.startswith("# "))
    assert result.returncode == 0, f"{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    assert re.search(r"^# fail 0$", summary, re.MULTILINE), summary
