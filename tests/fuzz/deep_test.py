"""The fuzz under the "deep" Hypothesis profile (ten times the inputs of
the default "ci" profile; a fresh seed each run, a fixed one under CI):
large."""

import os
import pathlib
import subprocess
import sys

import pytest

FUZZ = pathlib.Path(__file__).resolve().parent


@pytest.mark.large
@pytest.mark.skipif(
    not os.environ.get("KERAS_PMM_DEEP_FUZZ"),
    reason="opt-in (KERAS_PMM_DEEP_FUZZ=1): ten times the ci profile's "
    "inputs runs for more than 6 minutes on TensorFlow on 2 cores, past the "
    "CI budget; the ci profile runs in every make test",
)
def test_fuzz_with_the_deep_profile():
    env = dict(os.environ, HYPOTHESIS_PROFILE="deep")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", str(FUZZ)],
        env=env,
        capture_output=True,
        text=True,
        cwd=FUZZ.parents[1],
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
