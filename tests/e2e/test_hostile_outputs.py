"""Hostile output folders: allocator replaces only a folder it wrote, and never loses a user's file.

The contract is :mod:`allocator.outputs.files`: a folder at ``<out>/<name>``
is replaced only when it holds allocator's manifest.json (or is empty);
clean-up touches only allocator's exact leftover names; two scenarios writing
one folder are an input error before anything runs; ``compare/`` goes through
the same atomic writer; ``~`` is expanded; OS failures on output paths are exit
2.  Whole runs use the hand-made matrix scenario of ``test_matrix.py`` (no
network, about a second), the contract's functions are also tested directly.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml
from test_hostile import assert_clean_error
from test_matrix import hand_files

import allocator as al
from allocator.cli import main
from allocator.errors import AllocatorError
from allocator.outputs.files import check_replaceable, recover_interrupted_swap, write_folder
from allocator.outputs.manifest import MANIFEST_SCHEMA, written_by_allocator

DEAD_PID = "999999999"   # above the kernel's pid_max: never a running process


def snapshot(root: Path) -> dict[str, object]:
    """Every path under ``root`` (itself included): a file's bytes, a symlink's target, a folder as None."""
    out: dict[str, object] = {}
    for path in [root, *sorted(root.rglob("*"))] if root.is_dir() and not root.is_symlink() else [root]:
        key = str(path.relative_to(root.parent))
        if path.is_symlink():
            out[key] = ("link", os.readlink(path))
        elif path.is_file():
            out[key] = path.read_bytes()
        else:
            out[key] = None
    return out


def run(capsys, *args: str | Path) -> tuple[int, str]:
    """The command line in-process, quiet; (status, stderr)."""
    capsys.readouterr()
    code = main([*map(str, args), "--quiet"])
    return code, capsys.readouterr().err


def with_keys(path: Path, **changes) -> Path:
    """The scenario at ``path`` with top-level keys replaced."""
    doc = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**doc, **changes}, sort_keys=False))
    return path


def mark(folder: Path, schema: str = MANIFEST_SCHEMA) -> Path:
    """Make ``folder`` (created) look like an earlier allocator output."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps({"schema": schema}))
    return folder


def marked_write(staging: Path) -> None:
    """What write_folder fills: a marker and one result file."""
    mark(staging)
    (staging / "summary.json").write_text("{}")


def aged(path: Path) -> Path:
    """``path`` made a minute older (leftovers of killed runs are older than the run cleaning up)."""
    old = path.stat().st_mtime - 60
    os.utime(path, (old, old))
    return path


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    """The hand-made matrix scenario (name ``hand``) in tmp_path/project."""
    (tmp_path / "project").mkdir()
    return hand_files(tmp_path / "project")


# --------------------------------------------------------------------------- #
# the contract's functions                                                    #
# --------------------------------------------------------------------------- #

def test_absent_empty_and_earlier_outputs_are_replaceable(tmp_path: Path) -> None:
    check_replaceable(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    check_replaceable(tmp_path / "empty")
    for schema in (MANIFEST_SCHEMA, "allocator.manifest/1"):   # every schema manifest.json has had
        check_replaceable(mark(tmp_path / schema.replace("/", "_"), schema))


@pytest.mark.parametrize("make, words", [
    (lambda p: (p.mkdir(), (p / "data.csv").write_text("id,pop\n1,5\n")), "not written by allocator"),
    (lambda p: p.write_text("a file"), "this is a file"),
    (lambda p: p.symlink_to(mark(p.parent / "real")), "this is a symlink"),
    (lambda p: (p.mkdir(), (p / "manifest.json").write_text('{"schema": "someone.else/1"}')), "no manifest.json"),
    (lambda p: (p.mkdir(), (p / "manifest.json").write_text("[" * 100_000)), "no manifest.json"),
    (lambda p: (p.mkdir(), (p / "manifest.json").write_bytes(b"\xff\xfe")), "no manifest.json"),
    (lambda p: (p.mkdir(), (p / "manifest.json").symlink_to(mark(p.parent / "real") / "manifest.json")),
     "no manifest.json"),
    (lambda p: (p.mkdir(), (p / "manifest.json").mkdir()), "no manifest.json"),
], ids=["user-folder", "file", "symlink", "other-schema", "deep-json", "not-utf8", "linked-manifest",
        "manifest-folder"])
def test_anything_else_is_refused_and_left_as_it_was(tmp_path: Path, make, words: str) -> None:
    target = tmp_path / "out" / "hand"
    target.parent.mkdir()
    make(target)
    before = snapshot(tmp_path)
    with pytest.raises(AllocatorError, match=words) as info:
        write_folder(target, marked_write)
    error = info.value
    assert error.file == str(target) and error.field == "output.dir (or --out)"
    assert "nothing was changed" in error.message and "another --out or output.dir" in error.fix
    assert snapshot(tmp_path) == before, "nothing touched, no staging folder left"


def test_a_user_folder_appearing_during_the_write_is_refused_under_the_lock(tmp_path: Path) -> None:
    target = tmp_path / "hand"

    def user_arrives(staging: Path) -> None:   # the folder is made while the outputs are being written
        marked_write(staging)
        target.mkdir()
        (target / "notes.txt").write_text("mine")

    with pytest.raises(AllocatorError, match="not written by allocator"):
        write_folder(target, user_arrives)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hand"] and (target / "notes.txt").read_text() == "mine"


def test_legacy_compare_files_are_replaced_but_not_a_folder_named_like_them(tmp_path: Path) -> None:
    legacy = {"comparison.csv", "comparison.html"}
    old = tmp_path / "compare"
    old.mkdir()
    for name in legacy:
        (old / name).write_text("from an earlier --compare")
    check_replaceable(old, legacy)
    (old / "comparison.html").unlink()
    (old / "comparison.html").mkdir()
    with pytest.raises(AllocatorError, match="not written by allocator"):
        check_replaceable(old, legacy)


def test_cleanup_touches_only_allocators_exact_names(tmp_path: Path) -> None:
    target = mark(tmp_path / "hand")
    theirs = {".hand.old-backup": "user", ".hand.tmp-notes": "user", f".hand.old-{DEAD_PID}x": "user",
              f".hand.tmp-{DEAD_PID}-short": "user", f".hand.old-{DEAD_PID}": "user's files, no marker"}
    for name, text in theirs.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "notes.txt").write_text(text)
        aged(tmp_path / name)
    (tmp_path / f".hand.tmp-{DEAD_PID}-ab_cd123").symlink_to(tmp_path / ".hand.old-backup")
    before = snapshot(tmp_path)
    (tmp_path / f".hand.tmp-{DEAD_PID}-zzzzzzzz").mkdir()   # staging of killed runs, as mkdtemp names it
    ours = [aged(mark(tmp_path / f".hand.tmp-{DEAD_PID}-abcd_123")), aged(tmp_path / f".hand.tmp-{DEAD_PID}-zzzzzzzz")]
    (tmp_path / ".hand.tmp-zzzzzzzz").mkdir()   # no pid: not a name allocator gives
    swapped = aged(mark(tmp_path / f".hand.old-{int(DEAD_PID) - 1}"))
    write_folder(target, marked_write)
    left = snapshot(tmp_path)
    for path, content in before.items():
        if not path.startswith("hand"):
            assert left[path] == content, path
    assert not swapped.exists() and not any(p.exists() for p in ours)
    assert (tmp_path / ".hand.tmp-zzzzzzzz").is_dir()


def test_a_killed_writers_staging_folder_is_recognised_and_removed(tmp_path: Path) -> None:
    names = []

    def killed(staging: Path) -> None:   # the name mkdtemp really gives, then the run dies
        names.append(staging.name)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_folder(tmp_path / "hand", killed)
    left = tmp_path / names[0].replace(f"-{os.getpid()}-", f"-{DEAD_PID}-")   # as a dead process left it
    assert left != tmp_path / names[0]
    aged(mark(left))
    write_folder(tmp_path / "hand", marked_write)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hand"]


@pytest.mark.parametrize("make, words", [
    (lambda lock, home: lock.symlink_to(home), "a symlink"),
    (lambda lock, home: lock.write_text("my notes: do not lock the hand folder"), "a file allocator did not write"),
    (lambda lock, home: os.mkfifo(lock), "not a file"),
    (lambda lock, home: lock.mkdir(), "not a file"),
], ids=["symlink", "user-file", "fifo", "folder"])
def test_only_allocators_own_lock_file_is_used(tmp_path: Path, make, words: str) -> None:
    important = tmp_path / "important.txt"
    important.write_text("a user's file the lock must never truncate")
    target = mark(tmp_path / "hand")
    make(tmp_path / ".hand.lock", important)
    before = snapshot(tmp_path)
    with pytest.raises(AllocatorError, match=words) as info:
        write_folder(target, marked_write)
    assert info.value.file == str(target) and ".hand.lock" in info.value.fix
    assert snapshot(tmp_path) == before


def test_a_stale_lock_file_of_a_killed_run_is_reused(tmp_path: Path) -> None:
    for text in ("", DEAD_PID, f"{DEAD_PID}\n"):
        (tmp_path / ".hand.lock").write_text(text)
        write_folder(tmp_path / "hand", marked_write)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["hand"]


def test_recovery_needs_the_marker(tmp_path: Path) -> None:
    user = tmp_path / f".hand.old-{DEAD_PID}"
    user.mkdir()
    (user / "budget.xlsx").write_bytes(b"\x00user data")
    assert recover_interrupted_swap(tmp_path / "hand") is False
    assert not (tmp_path / "hand").exists() and (user / "budget.xlsx").read_bytes() == b"\x00user data"
    swapped = mark(tmp_path / f".hand.old-{int(DEAD_PID) - 1}")
    assert recover_interrupted_swap(tmp_path / "hand") is True
    assert written_by_allocator(tmp_path / "hand") and not swapped.exists() and user.is_dir()


def test_a_failed_second_rename_puts_the_previous_outputs_back(tmp_path: Path, monkeypatch) -> None:
    target = mark(tmp_path / "hand")
    (target / "summary.json").write_text('{"previous": true}')
    before = snapshot(tmp_path)
    rename = Path.rename

    def failing(self: Path, to):
        if ".tmp-" in self.name:
            raise OSError(errno.EIO, "Input/output error")
        return rename(self, to)

    monkeypatch.setattr(Path, "rename", failing)
    with pytest.raises(AllocatorError, match="Input/output error.*the previous outputs were kept"):
        write_folder(target, marked_write)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("earlier", [True, False])
def test_full_disk_says_whether_the_previous_outputs_were_kept(tmp_path: Path, earlier: bool) -> None:
    target = tmp_path / "hand"
    if earlier:
        (mark(target) / "summary.json").write_text('{"previous": true}')
    before = snapshot(tmp_path)

    def full(staging: Path) -> None:
        (staging / "summary.json").write_text("{")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(AllocatorError) as info:
        write_folder(target, full)
    text = str(info.value)
    assert f"no space left on {tmp_path}" in text
    assert ("the previous outputs were kept" in text) is earlier
    assert ("this folder was not created" in text) is not earlier
    assert snapshot(tmp_path) == before


# --------------------------------------------------------------------------- #
# whole runs through the command line                                         #
# --------------------------------------------------------------------------- #

def test_folder_holding_the_scenarios_own_inputs_is_not_deleted(tmp_path: Path, capsys) -> None:
    inputs = tmp_path / "hand"   # the scenario's own folder is where --out <parent> puts its outputs
    inputs.mkdir()
    path = hand_files(inputs)
    before = snapshot(inputs)
    code, err = run(capsys, path, "--out", tmp_path)
    assert_clean_error(code, err, str(inputs), "output.dir (or --out)", "not written by allocator",
                       "nothing was changed", "another --out or output.dir, or another name:")
    assert snapshot(inputs) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hand"], "no staging or lock file left"


def test_out_home_never_empties_a_users_folder(tmp_path: Path, scenario: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)   # an unexpanded ~ would be a folder here
    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    (home / "Documents" / "letter.odt").write_bytes(b"PK\x03\x04 a letter")
    monkeypatch.setenv("HOME", str(home))
    with_keys(scenario, name="Documents")
    before = snapshot(home)
    code, err = run(capsys, scenario, "--out", "~")
    assert_clean_error(code, err, str(home / "Documents"), "not written by allocator")
    assert snapshot(home) == before
    assert not (tmp_path / "~").exists()


@pytest.mark.parametrize("kind", ["file", "symlink"])
def test_a_file_or_symlink_where_the_folder_goes_is_refused(tmp_path: Path, scenario: Path, capsys,
                                                            kind: str) -> None:
    target = tmp_path / "out" / "hand"
    target.parent.mkdir()
    if kind == "file":
        target.write_text("my notes")
    else:
        (tmp_path / "mine").mkdir()
        (tmp_path / "mine" / "data.csv").write_text("a,b\n")
        target.symlink_to(tmp_path / "mine")
    before = snapshot(tmp_path)
    code, err = run(capsys, scenario, "--out", tmp_path / "out")
    assert_clean_error(code, err, str(target), f"this is a {kind}")
    assert snapshot(tmp_path) == before


def test_empty_folder_and_earlier_outputs_are_replaced(tmp_path: Path, scenario: Path, capsys) -> None:
    target = tmp_path / "out" / "hand"
    target.mkdir(parents=True)
    code, err = run(capsys, scenario, "--out", tmp_path / "out")
    assert code == 0, err
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["schema"] == MANIFEST_SCHEMA
    (target / "manifest.json").write_text(json.dumps({**manifest, "schema": "allocator.manifest/1"}))
    (target / "stale.txt").write_text("left by an earlier version")
    code, err = run(capsys, scenario, "--out", tmp_path / "out")
    assert code == 0, err
    assert not (target / "stale.txt").exists() and written_by_allocator(target)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["hand"]


def test_look_alike_names_beside_the_folder_survive_a_run(tmp_path: Path, scenario: Path, capsys) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for name in (".hand.old-backup", ".hand.tmp-notes", f".hand.old-{DEAD_PID}"):
        (out / name).mkdir()
        (out / name / "notes.txt").write_text(f"the user's {name}")
        aged(out / name)
    before = snapshot(out)
    code, err = run(capsys, scenario, "--out", out)   # hand is absent: the unmarked .old- is not "recovered"
    assert code == 0, err
    after = snapshot(out)
    assert {k: v for k, v in after.items() if not k.startswith("out/hand")} == \
        {k: v for k, v in before.items() if not k.startswith("out/hand")}
    assert written_by_allocator(out / "hand")


def test_an_input_inside_the_output_folder_is_not_replaced(tmp_path: Path, scenario: Path, capsys) -> None:
    out = tmp_path / "out"
    code, err = run(capsys, scenario, "--out", out)
    assert code == 0, err
    (out / "hand" / "d.csv").write_bytes((scenario.parent / "d.csv").read_bytes())   # the user's copy, fed back
    with_keys(scenario, demand=[{**yaml.safe_load(scenario.read_text())["demand"][0],
                                 "source": str(out / "hand" / "d.csv")}])
    before = snapshot(out)
    code, err = run(capsys, scenario, "--out", out)
    assert_clean_error(code, err, str(out / "hand"), "demand[0] is", str(out / "hand" / "d.csv"),
                       "nothing was changed")
    assert snapshot(out) == before
    inside = out / "hand" / "s.yaml"   # the scenario itself: refused before the run
    doc = yaml.safe_load(scenario.read_text())
    doc["matrix"]["source"] = str(scenario.parent / "m.csv")
    doc["services"] = [{**s, "candidates": {**s["candidates"], "source": str(scenario.parent / s["candidates"]["source"])}}
                       for s in doc["services"]]
    inside.write_text(yaml.safe_dump(doc, sort_keys=False))
    before = snapshot(out)
    code, err = run(capsys, inside, "--out", out)
    assert_clean_error(code, err, "scenario is", str(inside))
    assert snapshot(out) == before


@pytest.mark.parametrize("how", ["name", "output.dir", "parallel"])
def test_two_scenarios_writing_one_folder_is_an_error_before_anything_runs(tmp_path: Path, capsys,
                                                                           how: str) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = hand_files(tmp_path / "a"), hand_files(tmp_path / "b")
    if how == "output.dir":   # no --out: both resolve output.dir to the same folder
        with_keys(first, output={"dir": str(tmp_path / "maps"), "tiles": False})
        with_keys(second, output={"dir": "../maps", "tiles": False})
    extra = ["--out", str(tmp_path / "maps")] if how != "output.dir" else []
    code, err = run(capsys, first, second, *extra, *(["--parallel"] if how == "parallel" else []))
    assert_clean_error(code, err, str(first), str(second), str(tmp_path / "maps" / "hand"), "name")
    assert not (tmp_path / "maps").exists(), "nothing ran"
    with_keys(second, name="hand2")
    code, err = run(capsys, first, second, *extra)
    assert code == 0, err
    assert {p.name for p in (tmp_path / "maps").iterdir()} == {"hand", "hand2"}


def test_a_scenario_named_compare_clashes_with_compare(tmp_path: Path, scenario: Path, capsys) -> None:
    other = with_keys(hand_files(tmp_path), name="compare")
    code, err = run(capsys, scenario, other, "--out", tmp_path / "out", "--compare")
    assert_clean_error(code, err, str(other), "--compare")
    assert not (tmp_path / "out").exists()


def test_tilde_in_output_dir_is_the_home_folder(tmp_path: Path, scenario: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with_keys(scenario, output={"dir": "~/plans", "tiles": False})
    code, err = run(capsys, scenario)
    assert code == 0, err
    assert written_by_allocator(tmp_path / "home" / "plans" / "hand")
    assert not any(p.name == "~" for p in tmp_path.rglob("*"))


def test_tilde_in_input_paths_is_the_home_folder(tmp_path: Path, scenario: Path, capsys, monkeypatch) -> None:
    """``~/m.csv`` is the home folder's file, as in output.dir, and the manifest names that file."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    (scenario.parent / "m.csv").rename(home / "m.csv")
    with_keys(scenario, matrix={"source": "~/m.csv"})
    code, err = run(capsys, scenario, "--out", tmp_path / "out")
    assert code == 0, err
    manifest = json.loads((tmp_path / "out" / "hand" / "manifest.json").read_text())
    assert str(home / "m.csv") in {item["path"] for item in manifest["inputs"]}


@pytest.mark.parametrize("where", ["--out", "output.dir", "matrix.source"])
def test_home_of_an_unknown_user_is_an_input_error(tmp_path: Path, scenario: Path, capsys, where: str) -> None:
    path = "~no_such_user_r27/x"
    if where == "--out":
        code, err = run(capsys, scenario, "--out", path)
    else:
        with_keys(scenario, **({"output": {"dir": path}} if where == "output.dir" else {"matrix": {"source": path}}))
        code, err = run(capsys, scenario)
    assert_clean_error(code, err, where, "~no_such_user_r27")
    assert not (tmp_path / "project" / "~no_such_user_r27").exists()


@pytest.mark.parametrize("out", [
    lambda t: t / ("x" * 300),                              # a name longer than the file system allows
    lambda t: t.joinpath(*["y" * 200] * 25),                # a path longer than PATH_MAX
    lambda t: t / "a-file" / "out",                         # a file where a folder of the path goes
], ids=["name-too-long", "path-too-long", "file-in-path"])
def test_unusable_output_paths_exit_2_naming_the_path(tmp_path: Path, scenario: Path, capsys, out) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    before = snapshot(tmp_path)
    code, err = run(capsys, scenario, "--out", out(tmp_path))
    assert_clean_error(code, err, str(out(tmp_path) / "hand"), "output.dir (or --out)", "cannot create",
                       "nothing was changed")
    assert snapshot(tmp_path) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_output_folder_without_permission_exits_2(tmp_path: Path, scenario: Path, capsys) -> None:
    (tmp_path / "locked").mkdir(mode=0o555)
    code, err = run(capsys, scenario, "--out", tmp_path / "locked")
    assert_clean_error(code, err, str(tmp_path / "locked" / "hand"), "no permission to create folders in")


def test_long_output_dir_in_the_yaml_names_the_scenario_field(tmp_path: Path, scenario: Path, capsys) -> None:
    with_keys(scenario, output={"dir": "z" * 300, "tiles": False})
    code, err = run(capsys, scenario)
    assert_clean_error(code, err, "output.dir", "cannot create", "File name too long")
    assert sorted(p.name for p in scenario.parent.iterdir()) == sorted(["s.yaml", "d.csv", "c12.csv", "c23.csv",
                                                                         "e.csv", "m.csv"])


# --------------------------------------------------------------------------- #
# --compare: the same contract                                                #
# --------------------------------------------------------------------------- #

@pytest.mark.parametrize("make, words", [
    (lambda c: c.write_text("a file"), "this is a file"),
    (lambda c: (c.mkdir(), (c / "comparison.html").mkdir(), (c / "comparison.html" / "keep.txt").write_text("x")),
     "not written by allocator"),
    (lambda c: (c.mkdir(), (c / "comparison.csv").write_text("my,own\n"), (c / "notes.md").write_text("mine")),
     "not written by allocator"),
], ids=["file", "folder-named-comparison.html", "user-csv"])
def test_compare_refuses_what_allocator_did_not_write(tmp_path: Path, scenario: Path, capsys, make,
                                                      words: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    make(out / "compare")
    before = snapshot(out)
    code, err = run(capsys, scenario, "--out", out, "--compare")
    assert_clean_error(code, err, str(out / "compare"), words)
    assert snapshot(out) == before, "refused before the run: nothing written"


@pytest.mark.slow
def test_compare_replaces_its_own_folder_and_a_pre_marker_one(tmp_path: Path, scenario: Path, capsys) -> None:
    out = tmp_path / "out"
    (out / "compare").mkdir(parents=True)
    (out / "compare" / "comparison.html").write_text("<p>written before compare/ had a manifest</p>")
    for _ in range(2):
        code, err = run(capsys, scenario, "--out", out, "--compare")
        assert code == 0, err
        assert {p.name for p in (out / "compare").iterdir()} == {"comparison.csv", "comparison.html",
                                                                 "manifest.json"}
        assert written_by_allocator(out / "compare")
    assert sorted(p.name for p in out.iterdir()) == ["compare", "hand"]


@pytest.mark.slow
@pytest.mark.parametrize("code_, earlier", [(errno.ENOSPC, True), (errno.ENOSPC, False),
                                            (errno.ENAMETOOLONG, True), (errno.ENAMETOOLONG, False)],
                         ids=["full-earlier", "full-first", "too-long-earlier", "too-long-first"])
def test_compare_failing_to_write_keeps_the_earlier_comparison(tmp_path: Path, scenario: Path, capsys,
                                                               monkeypatch, code_: int, earlier: bool) -> None:
    out = tmp_path / "out"
    if earlier:
        code, err = run(capsys, scenario, "--out", out, "--compare")
        assert code == 0, err
    before = snapshot(out / "compare") if earlier else None
    write_text = Path.write_text

    def failing(self: Path, text: str, *args, **kwargs):
        if self.name == "comparison.html":
            write_text(self, text[: len(text) // 2], *args, **kwargs)   # half a page, then the disk is full
            raise OSError(code_, os.strerror(code_))
        return write_text(self, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", failing)
    code, err = run(capsys, scenario, "--out", out, "--compare")
    kept = "the previous outputs were kept"
    assert_clean_error(code, err, str(out / "compare"), "output.dir (or --out)",
                       kept if earlier else "this folder was not created")
    assert (kept in err) is earlier
    if earlier:
        assert snapshot(out / "compare") == before, "no truncated comparison.html in place"
        assert pd.read_csv(out / "compare" / "comparison.csv").shape[0] > 0
    else:
        assert not (out / "compare").exists()
    assert sorted(p.name for p in out.iterdir()) == (["compare", "hand"] if earlier else ["hand"])


# --------------------------------------------------------------------------- #
# the Python API                                                              #
# --------------------------------------------------------------------------- #

def test_api_write_and_run_scenario_keep_the_contract(tmp_path: Path, scenario: Path, monkeypatch) -> None:
    result = al.run_scenario(scenario)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("\\chapter{One}")
    before = snapshot(mine)
    with pytest.raises(AllocatorError, match="not written by allocator"):
        al.write(result, mine)
    assert snapshot(mine) == before
    (tmp_path / "parent" / "hand").mkdir(parents=True)
    (tmp_path / "parent" / "hand" / "keep.txt").write_text("keep")

    def no_solve(*args, **kwargs):
        raise AssertionError("solved before checking the output folder")

    monkeypatch.setattr("allocator.api.run_loaded", no_solve)
    with pytest.raises(AllocatorError, match="not written by allocator"):
        al.run_scenario(scenario, out=tmp_path / "parent")
    assert (tmp_path / "parent" / "hand" / "keep.txt").read_text() == "keep"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert al.write(result, "~/plans/hand") == tmp_path / "home" / "plans" / "hand"
    assert written_by_allocator(tmp_path / "home" / "plans" / "hand")

