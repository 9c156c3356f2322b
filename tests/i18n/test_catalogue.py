"""The zh_Hans catalogue ships complete: every entry translated, none fuzzy, compiled, and
holding every string the code marks for translation."""

import importlib.util
import os
import shutil
import time
from pathlib import Path

import polib
import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("check", ROOT / "scripts/check-translations.py")
assert _spec is not None and _spec.loader is not None
check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check)

# What makemessages must not walk: not our code, or not shipped.
IGNORE = [
    ".venv",
    "node_modules",
    "var",
    "tests",
    "bench",
    "test-artifacts",
    ".mypy_cache",
    "atelier.egg-info",
    "*.min.js",
    "docs",
]


def test_the_committed_catalogue_is_complete_and_compiled():
    assert check.catalogue_problems("zh_Hans") == []


@pytest.fixture
def locale_copy(tmp_path):
    shutil.copytree(ROOT / "locale", tmp_path / "locale")
    return tmp_path / "locale"


def _po(locale, domain="django"):
    return locale / "zh_Hans" / "LC_MESSAGES" / f"{domain}.po"


def test_the_check_fails_on_fuzzy_untranslated_obsolete_and_a_stale_mo(locale_copy):
    po = polib.pofile(str(_po(locale_copy)))
    plain = [e for e in po if not e.msgid_plural and not e.obsolete]
    plain[0].flags.append("fuzzy")
    plain[1].msgstr = ""
    plain[2].obsolete = True
    plain[3].msgstr = plain[3].msgstr + "（改）"
    po.save(str(_po(locale_copy)))

    problems = "\n".join(check.catalogue_problems("zh_Hans", locale_copy))

    assert f"fuzzy: {plain[0].msgid!r}" in problems
    assert f"untranslated: {plain[1].msgid!r}" in problems
    assert "1 obsolete" in problems
    assert "django.mo does not match django.po" in problems
    assert "1 with another translation" in problems


def test_a_checkout_that_makes_the_mo_look_older_than_the_po_passes(locale_copy):
    # git gives files the time of the checkout, in whatever order it writes them.
    past = time.time() - 3600
    for mo in (locale_copy / "zh_Hans" / "LC_MESSAGES").glob("*.mo"):
        os.utime(mo, (past, past))

    assert check.catalogue_problems("zh_Hans", locale_copy) == []


def test_the_check_fails_on_an_empty_plural_form(locale_copy):
    po = polib.pofile(str(_po(locale_copy)))
    plural = next(e for e in po if e.msgid_plural)
    plural.msgstr_plural = {0: ""}
    po.save(str(_po(locale_copy)))

    problems = check.catalogue_problems("zh_Hans", locale_copy)

    assert any(f"untranslated: {plural.msgid!r}" in p for p in problems)


def test_every_string_the_code_marks_is_in_the_committed_catalogue(
    locale_copy, settings, monkeypatch, tmp_path
):
    """makemessages merges what the code marks today into a copy of the catalogue: a new
    string arrives untranslated (or fuzzy, when it looks like an old one)."""
    # makemessages writes beside a ./locale it finds, so it walks links to the code from a
    # directory without one, and the committed catalogue is never touched.
    source = tmp_path / "source"
    source.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in {"locale", *IGNORE} and not entry.name.startswith("."):
            (source / entry.name).symlink_to(entry)
    settings.LOCALE_PATHS = [locale_copy]
    monkeypatch.chdir(source)
    before = _po(ROOT / "locale").read_bytes()
    for domain in ("django", "djangojs"):
        call_command(
            "makemessages",
            locale=["zh_Hans"],
            domain=domain,
            ignore_patterns=IGNORE,
            symlinks=True,
            verbosity=0,
        )
    assert _po(ROOT / "locale").read_bytes() == before
    missing = []
    for domain in ("django", "djangojs"):
        merged = polib.pofile(str(_po(locale_copy, domain)))
        # The walk really read the code: what it found is live, not left obsolete.
        assert len([e for e in merged if not e.obsolete]) > 10, domain
        missing += [
            f"{domain}: {e.msgid!r} ({', '.join(f for f, _ in e.occurrences)})"
            for e in merged
            if not e.obsolete and ("fuzzy" in e.flags or e in merged.untranslated_entries())
        ]
    assert missing == [], "marked but not translated; run makemessages and translate:\n" + (
        "\n".join(missing)
    )
