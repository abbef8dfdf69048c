"""hypermodels.user: the user's code named FILE.py:NAME or package.module:NAME."""

from __future__ import annotations

import pytest

from hypermodels import user


def test_a_file_is_imported_by_its_path_and_digested(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text("def build(hp):\n    return 42\n")
    found, origin = user.load(f"{path}:build")
    assert found(None) == 42
    assert origin["file"] == str(path) and len(origin["sha256"]) == 64


def test_a_module_on_the_path_is_imported_by_its_name():
    found, origin = user.load("hypermodels.own:check_contract")
    assert found.__name__ == "check_contract" and origin["file"].endswith("own.py")


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ("nothing", "expected FILE.py:NAME or package.module:NAME"),
        ("/no/such.py:build", "no file /no/such.py"),
        ("no_such_module_here:build", "no module no_such_module_here"),
        ("hypermodels.own:missing", "defines no missing"),
    ],
)
def test_bad_specs_are_one_line(spec, said):
    with pytest.raises(ValueError, match=said):
        user.load(spec)


def test_a_file_that_raises_on_import_is_one_line(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("import keras\nx = undefined_name\n")
    with pytest.raises(ValueError, match="raised NameError: name 'undefined_name'"):
        user.load(f"{path}:build")


def test_an_object_from_a_module_goes_by_its_module_and_one_from_a_cell_is_registered():
    from hypermodels.own import check_contract

    assert user.register(check_contract) == "hypermodels.own:check_contract"

    def cell(hp):  # defined here, as in a notebook cell: no module holds it by this name
        return hp

    spec = user.register(cell)
    assert spec.startswith("notebook:") and user.in_this_process_only(spec)
    assert user.load(spec)[0] is cell
