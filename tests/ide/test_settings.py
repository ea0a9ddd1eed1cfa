"""The settings object every editor sends (vscode-ext/README.md), read with defaults for bad values."""

from __future__ import annotations

from pathlib import Path

from tapkit.ide.settings import Settings, settings_from_json


def test_full_object_with_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "tapsets").mkdir()
    (tmp_path / "k.config").write_text("CONFIG_X=y\n")
    (tmp_path / "m.ko").write_bytes(b"")
    s, problems = settings_from_json({"tapsetDirs": ["tapsets"], "release": " 6.1.0-56-amd64 ",
                                      "kernelConfig": "k.config", "debuginfo": ["m.ko"], "guruMode": True},
                                     [tmp_path])
    assert problems == ()
    assert s == Settings((tmp_path / "tapsets",), "6.1.0-56-amd64", tmp_path / "k.config", (str(tmp_path / "m.ko"),),
                         True)
    target = s.target()
    assert target.release == "6.1.0-56-amd64" and target.guru_mode
    assert target.kernel_config == {"CONFIG_X": "y"}


def test_wrapped_and_null_shapes() -> None:
    assert settings_from_json({"tapkit": {"guruMode": True}})[0].guru_mode is True
    assert settings_from_json(None) == (Settings(), ())


def test_wrong_types_fall_back_and_are_reported(tmp_path: Path) -> None:
    s, problems = settings_from_json({"tapsetDirs": 3, "release": ["x"], "guruMode": "yes",
                                      "tapsetDirs2": 1, "kernelConfig": "/nope/.config"}, [tmp_path])
    assert s.tapset_dirs == () and s.release == "" and s.guru_mode is False
    keys = sorted(p.key for p in problems)
    assert keys == ["guruMode", "kernelConfig", "release", "tapsetDirs"]
    assert settings_from_json([1, 2])[1][0].message.startswith("settings must be an object")


def test_missing_tapset_dir_is_dropped(tmp_path: Path) -> None:
    s, problems = settings_from_json({"tapsetDirs": [str(tmp_path / "gone")]})
    assert s.tapset_dirs == ()
    assert "does not exist" in problems[0].message
