from pathlib import Path

from tests.cli.conftest import run_modelyard as _modelyard


def test_environment_settings_choose_the_yard(tmp_path: Path) -> None:
    home = tmp_path / "from-env"
    done = _modelyard("models", "list", "--json", env={"MODELYARD_HOME": str(home)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert (home / "yard.db").exists()


def test_options_override_the_environment(tmp_path: Path) -> None:
    env_home, flag_home = tmp_path / "env", tmp_path / "flag"
    done = _modelyard(
        "--home", str(flag_home), "models", "list", env={"MODELYARD_HOME": str(env_home)}
    )
    assert done.returncode == 0, done.stderr
    assert (flag_home / "yard.db").exists()
    assert not env_home.exists()


def test_a_bad_setting_is_one_line(tmp_path: Path) -> None:
    done = _modelyard(
        "models", "list", env={"MODELYARD_HOME": str(tmp_path), "MODELYARD_PROFILE_BINS": "many"}
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "setting MODELYARD_PROFILE_BINS" in done.stderr
