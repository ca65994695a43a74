import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Broker  # noqa: E402


@pytest.fixture
def broker():
    b = Broker()
    yield b
    b.stop()
    assert b.proc.returncode == 0, "broker did not stop cleanly:\n" + b.log()


@pytest.fixture
def broker2():
    """Two workers: sessions on different threads, messages crossing between them."""
    b = Broker(workers=2)
    yield b
    b.stop()
    assert b.proc.returncode == 0, "broker did not stop cleanly:\n" + b.log()
