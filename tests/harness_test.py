"""The test harness itself: `TestCase` helpers and the `data_dir` fixture."""

import os

import keras
import pytest

from tests.conftest import DATA_FILES
from tests.conftest import find_data_dir
from tests.test_case import TestCase


def _data_folder(root):
    for name in DATA_FILES:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    return root


def test_data_dir_is_the_folder_named_by_the_variable(tmp_path):
    folder = _data_folder(tmp_path)
    environ = {"KERAS_PMM_DATA_DIR": str(folder), "CI": "true"}
    assert find_data_dir(environ) == str(folder)


@pytest.mark.parametrize(
    "environ, outcome",
    [({}, pytest.skip.Exception), ({"CI": "true"}, pytest.fail.Exception)],
    ids=["skips_locally", "fails_under_ci"],
)
def test_missing_data_says_how_to_provide_it(tmp_path, environ, outcome):
    (tmp_path / "mnist").mkdir()  # fashion-mnist/ is absent
    environ = {**environ, "KERAS_PMM_DATA_DIR": str(tmp_path / "mnist")}
    with pytest.raises(outcome) as raised:
        find_data_dir(environ)
    message = str(raised.value)
    assert "KERAS_PMM_DATA_DIR" in message and "README" in message
    assert "mnist/" in message and "fashion-mnist/" in message
    assert str(tmp_path / "mnist") in message


def test_temp_dirs_are_deleted_after_the_test(pytester, tmp_path):
    record = tmp_path / "folders.txt"
    pytester.makepyfile(
        f"""
        import os

        from tests.test_case import TestCase


        class TestWrites(TestCase):
            def test_writes(self):
                folder = self.get_temp_dir()
                with open(os.path.join(folder, "file"), "w") as file:
                    file.write("content")
                with open({str(record)!r}, "a") as file:
                    file.write(folder + "\\n")
                assert os.path.isdir(folder)
        """
    )
    pytester.runpytest_inprocess("-p", "no:randomly").assert_outcomes(passed=1)
    (folder,) = record.read_text().split()
    assert not os.path.exists(folder)


@keras.saving.register_keras_serializable(package="keras_pmm_tests")
class _GrowsOnEachRoundTrip(keras.layers.Layer):
    def __init__(self, width=1, **kwargs):
        super().__init__(**kwargs)
        self.width = width + 1  # the bug: the config is not what was given

    def get_config(self):
        return {**super().get_config(), "width": self.width}


class TestHelpersCatchWhatTheyCheck(TestCase):
    def test_serialization_test_catches_a_config_that_drifts(self):
        with pytest.raises(AssertionError):
            self.run_class_serialization_test(_GrowsOnEachRoundTrip())
        revived = self.run_class_serialization_test(keras.layers.Dense(3))
        assert revived.units == 3
