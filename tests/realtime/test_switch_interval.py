"""A server process hands Python's interpreter lock around every GIL_SWITCH_INTERVAL seconds (the
event loop writing frames would otherwise make every database answer a worker thread waits for
wait 5 ms more): the ASGI module sets it, and 0 leaves Python's default."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def switch_interval_of_a_server_process(value: str) -> float:
    env = {**os.environ, "GIL_SWITCH_INTERVAL": value, "DJANGO_SETTINGS_MODULE": "virtual_office.settings"}
    out = subprocess.run(
        [sys.executable, "-c", "import sys, virtual_office.asgi; print(sys.getswitchinterval())"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("value", "expected"), [("0.001", 0.001), ("0.0005", 0.0005), ("0", 0.005)])
def test_the_asgi_module_sets_the_switch_interval(value, expected):
    assert switch_interval_of_a_server_process(value) == pytest.approx(expected)
