import os
import stat

from tuning.store.files import write_text_atomic


def test_atomic_writes_get_the_umask_mode_not_a_private_one(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "trials.csv"
        write_text_atomic(path, "a,b\n")
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        os.umask(0o077)
        write_text_atomic(path, "a,b\n1,2\n")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        os.umask(old)
    assert path.read_text() == "a,b\n1,2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["trials.csv"]  # no temp file left
