"""Settings files: JSON round trip, errors naming key and value, the explorer's save/load."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

import dpc_widgets
from dpc_widgets.widgets import Explorer, Settings
from dpc_widgets.widgets.settings import default_radii
from dpc_widgets.widgets.settings_file import (
    FORMAT,
    VERSION,
    SavedSettings,
    SettingsFileError,
    as_saved,
    read_settings,
    write_settings,
)

FULL = Settings(
    inner=7.25,
    outer=19.5,
    segments=6,
    rotation=-12.5,
    com_source="pixelated",
    com_mask=True,
    com_inner=2.0,
    com_outer=math.inf,
    descan=None,
    auto_rotation=False,
    scan_rotation=33.3,
    transpose=True,
    method="iterative",
    padding=3,
    high_pass=0.01,
    low_pass=0.5,
    clip=1.5,
)


@pytest.fixture(scope="module")
def npy_path(tmp_path_factory):
    """A small simulated cube (rotated scan) as a .npy file."""
    sim = dpc_widgets.simulate((16, 16), (48, 48), rotation=25.0, seed=1)
    path = tmp_path_factory.mktemp("data") / "sim.npy"
    np.save(path, np.asarray(sim.cube.data))
    return path


def document(**settings) -> str:
    return json.dumps({"format": FORMAT, "version": VERSION, "settings": settings})


CALIBRATION = {
    "energy": 300e3,
    "scan_sampling": 0.25,
    "scan_units": "A",
    "detector_sampling": 1.5,
    "detector_units": "mrad",
}


def calibration_document(**changes) -> str:
    record = {**CALIBRATION, **changes}
    return json.dumps({"version": VERSION, "calibration": record})


def test_the_calibration_used_is_recorded():
    text = SavedSettings.of(FULL, calibration=CALIBRATION).to_json()
    assert json.loads(text)["calibration"] == CALIBRATION
    saved = SavedSettings.from_json(text)
    assert saved.calibration == CALIBRATION and Settings(**saved.values) == FULL
    unknown = SavedSettings.from_json(calibration_document(energy=None))
    assert unknown.calibration["energy"] is None
    assert "calibration" not in json.loads(SavedSettings.of(FULL).to_json())
    assert SavedSettings.from_json(SavedSettings.of(FULL).to_json()).calibration is None


def test_round_trip_is_exact_and_standard_json():
    text = SavedSettings.of(FULL, origin=(20.25, 23.0)).to_json()
    plain = json.loads(text, parse_constant=lambda name: pytest.fail(f"non-standard {name}"))
    assert plain["version"] == VERSION and plain["format"] == FORMAT
    assert plain["settings"]["com_outer"] is None  # infinity as null
    assert plain["settings"]["descan"] is None
    assert set(plain["settings"]) == {f.name for f in dataclasses.fields(Settings)}
    saved = SavedSettings.from_json(text)
    assert Settings(**saved.values) == FULL
    assert saved.origin == (20.25, 23.0)
    assert SavedSettings.from_json(SavedSettings.of(FULL).to_json()).origin is None


def test_write_and_read_a_file(tmp_path):
    path = write_settings(tmp_path / "new" / "s.json", FULL, origin=None)
    assert path.exists()
    assert Settings(**read_settings(path).values) == FULL
    assert as_saved(path) == read_settings(path)
    assert as_saved(str(path)) == read_settings(path)
    assert as_saved(FULL) == SavedSettings.of(FULL)
    assert as_saved(None) == SavedSettings()


def test_a_partial_file_gives_only_its_fields():
    saved = SavedSettings.from_json(json.dumps({"version": 1, "settings": {"segments": 8}}))
    assert saved.values == {"segments": 8} and saved.origin is None
    assert SavedSettings.from_json('{"version": 1}').values == {}


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{not json", "not valid settings JSON"),
        ("[1, 2]", r"expected a JSON object, got \[1, 2\]"),
        ('{"version": 1, "settings": {"inner": NaN}}', "NaN is not a JSON number"),
        ('{"version": 1, "colour": "red"}', "unknown key 'colour' \\(value 'red'\\)"),
        ('{"settings": {}}', "missing key 'version'"),
        ('{"version": 2}', "key 'version' is 2; this dpc-widgets reads version 1"),
        ('{"version": "1"}', "key 'version' is '1'"),
        ('{"version": 1, "format": "other"}', "key 'format' must be .*, got 'other'"),
        ('{"version": 1, "settings": [4]}', r"key 'settings' must be an object, got \[4\]"),
        (document(segmnts=4), "unknown settings key 'segmnts' \\(value 4\\)"),
        (document(segments="4"), "settings key 'segments' must be an integer, got '4'"),
        (document(segments=True), "settings key 'segments' must be an integer, got True"),
        (document(segments=4.0), "settings key 'segments' must be an integer, got 4.0"),
        (document(segments=20), "settings key 'segments': segments must be between 1 and 16"),
        (document(inner="10"), "settings key 'inner' must be a number .*, got '10'"),
        (document(com_mask=1), "settings key 'com_mask' must be true or false, got 1"),
        (document(com_source="magic"), "settings key 'com_source': .* got 'magic'"),
        (document(descan=0), "settings key 'descan' must be a string or null, got 0"),
        (document(padding=0), "settings key 'padding': padding must be .* >= 1, got 0"),
        (document(clip=60), "settings key 'clip': clip must be a percentage .* got 60"),
        (document(low_pass=-1), "settings key 'low_pass': low_pass must be >= 0"),
        (document(inner=30, outer=10), "'inner' = 30.0, 'outer' = 10.0: inner radius 30.0"),
        ('{"version": 1, "origin": [1]}', r"origin must be null or a pair .* got \[1\]"),
        ('{"version": 1, "origin": ["1", "2"]}', r"origin must be null or a pair"),
        ('{"version": 1, "origin": [-1, 2]}', r"origin must be a pair .* >= 0, got \[-1, 2\]"),
        ('{"version": 1, "calibration": {"energy": 1}}', "calibration must be an object with"),
        ('{"version": 1, "calibration": 3}', "calibration must be an object with the keys"),
        (calibration_document(energy=-5), "calibration key 'energy' must be a number .* -5"),
        (calibration_document(energy="200"), "calibration key 'energy' must be .* got '200'"),
        (calibration_document(detector_sampling=None), "key 'detector_sampling' must be a num"),
        (calibration_document(scan_units=1), "calibration key 'scan_units' must be a string"),
    ],
)
def test_bad_files_raise_naming_key_and_value(text, match):
    with pytest.raises(SettingsFileError, match=match) as caught:
        SavedSettings.from_json(text, source="test.json")
    assert isinstance(caught.value, ValueError)
    assert str(caught.value).startswith("test.json: ")


def test_read_settings_names_the_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(document(segments=99))
    with pytest.raises(SettingsFileError, match=f"'{path}': settings key 'segments'"):
        read_settings(path)
    with pytest.raises(FileNotFoundError):
        read_settings(tmp_path / "missing.json")
    with pytest.raises(TypeError, match="settings must be a Settings, a settings file path"):
        as_saved(3)


def test_explorer_saves_and_loads_its_settings(npy_path, tmp_path):
    ex = Explorer(npy_path)
    with ex.hold():
        ex.segments.value = 6
        ex.rotation.value = 10.0
        ex.com_source.value = "monolithic"
        ex.auto_rotation.value = False
        ex.scan_rotation.value = 21.5
        ex.transpose.value = True
    path = ex.save_settings(tmp_path / "s" / "explorer.json")
    saved = read_settings(path)
    assert Settings(**saved.values) == ex.settings
    assert saved.origin is None  # the centre was not moved
    assert saved.calibration == ex.dpc.cube.calibration and saved.calibration["energy"] is None
    ex.calibration.energy.value = "80"  # typed in keV: recorded in eV
    assert read_settings(ex.save_settings(tmp_path / "e.json")).calibration["energy"] == 80e3
    again = Explorer(npy_path, settings=path)
    assert again.settings == ex.settings
    for name in ("segment_images", "com", "com_rotated", "phase"):
        np.testing.assert_array_equal(getattr(again.results, name), getattr(ex.results, name))
    # options given win over the file; Settings objects are accepted too
    assert Explorer(npy_path, settings=path, segments=8).settings.segments == 8
    assert Explorer(npy_path, settings=ex.settings).settings == ex.settings


def test_a_moved_centre_is_saved_and_restored(npy_path, tmp_path):
    ex = Explorer(npy_path, inner=3.0, outer=9.0)
    loaded = ex.dpc.origin
    with ex.hold():
        ex.origin_qx.value = 22.5
        ex.origin_qy.value = 25.25
    assert ex.dpc.origin == (22.5, 25.25)
    path = ex.save_settings(tmp_path / "moved.json")
    assert read_settings(path).origin == (22.5, 25.25)
    again = Explorer(npy_path, settings=path)
    assert again.dpc.origin == (22.5, 25.25) and again.controls.origin() == (22.5, 25.25)
    np.testing.assert_array_equal(again.results.phase, ex.results.phase)
    assert "with_origin((22.5, 25.25))" in again.code()
    # an explicit origin= wins over the file's centre
    assert Explorer(npy_path, settings=path, origin="geometric").dpc.origin == (24.0, 24.0)
    assert loaded != (22.5, 25.25)


def test_a_partial_file_takes_the_default_radii(npy_path, tmp_path):
    path = tmp_path / "partial.json"
    path.write_text(document(segments=8))
    ex = Explorer(npy_path, settings=path)
    assert ex.settings.segments == 8
    assert (ex.settings.inner, ex.settings.outer) == default_radii(
        ex.dpc.cube, ex.dpc.mean_pattern()
    )


def test_bad_settings_file_fails_the_explorer(npy_path, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(document(com_source="magic"))
    with pytest.raises(SettingsFileError, match="com_source"):
        Explorer(npy_path, settings=path)


def find_button(widget, css_class: str):
    """The button with ``css_class`` below ``widget`` in the widget tree."""
    if css_class in getattr(widget, "_dom_classes", ()):
        return widget
    for child in getattr(widget, "children", ()):
        found = find_button(child, css_class)
        if found is not None:
            return found
    return None


def test_save_settings_button_writes_beside_the_exports(npy_path, tmp_path):
    ex = Explorer(npy_path)
    button = find_button(ex, "dpc-settings-button")
    assert button.description == "Save settings"
    save = find_button(ex, "dpc-export-button")
    row = [box for box in ex.children[3].children if save in box.children]
    assert len(row) == 1 and button in row[0].children  # beside the Save button
    ex._export_dir.value, ex._export_prefix.value = str(tmp_path / "exp"), "run"
    button.click()
    path = tmp_path / "exp" / "run_settings.json"
    assert Settings(**read_settings(path).values) == ex.settings
    assert "saved the settings to" in ex.status.value and str(path) in ex.status.value
    ex._guarded("save settings", ex._save_settings_clicked, str(tmp_path), "a/b")
    assert "save settings failed: ValueError: prefix must be a non-empty" in ex.status.value
