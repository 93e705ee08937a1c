"""`tools/make_samples.py` rewrites the demo's samples exactly."""

from keras_pmm.zoo import demo
from tools import make_samples


def test_samples_are_the_official_test_images(tmp_path, data_dir):
    written = make_samples.make_samples(data_dir, tmp_path)
    shipped = sorted(path.name for path, _, _ in demo.samples())
    assert sorted(path.name for path in written) == shipped
    for path in written:
        assert path.read_bytes() == (demo.SAMPLES_DIR / path.name).read_bytes()
