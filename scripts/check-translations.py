#!/usr/bin/env python3
"""Fails when a zh_Hans catalogue is not ready to ship.

Each locale/<language>/LC_MESSAGES/*.po must have every entry translated (no empty msgstr,
no plural form left empty), none marked fuzzy, no obsolete (#~) entry that the code still
needs, and a compiled .mo beside it that holds the same entries with the same translations
(compared by content: a git checkout gives files arbitrary modification times).
Run by `make test` and by tests/i18n/test_catalogue.py.

    python scripts/check-translations.py [LANGUAGE ...]   (default: zh_Hans)
"""

from __future__ import annotations

import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "locale"
DOMAINS = ("django", "djangojs")


def _untranslated(entry: polib.POEntry) -> bool:
    if entry.msgid_plural:
        return not entry.msgstr_plural or not all(entry.msgstr_plural.values())
    return not entry.msgstr


def _key(entry: polib.POEntry | polib.MOEntry) -> tuple[str | None, str]:
    return entry.msgctxt, entry.msgid


def _text(entry: polib.POEntry | polib.MOEntry) -> tuple[str, ...]:
    if entry.msgid_plural:
        return tuple(entry.msgstr_plural[index] for index in sorted(entry.msgstr_plural))
    return (entry.msgstr,)


def catalogue_problems(language: str = "zh_Hans", locale: Path = LOCALE) -> list[str]:
    problems = []
    for domain in DOMAINS:
        po_path = locale / language / "LC_MESSAGES" / f"{domain}.po"
        mo_path = po_path.with_suffix(".mo")
        if not po_path.exists():
            problems.append(f"{po_path}: missing")
            continue
        po = polib.pofile(str(po_path))
        for entry in po:
            where = f"{po_path.name}:{entry.linenum}"
            if entry.obsolete:
                continue  # counted below
            if "fuzzy" in entry.flags:
                problems.append(f"{where}: fuzzy: {entry.msgid!r}")
            elif _untranslated(entry):
                problems.append(f"{where}: untranslated: {entry.msgid!r}")
        # A string the code still marks but the catalogue keeps only as obsolete is missing
        # for the reader; tests/i18n/test_catalogue.py runs makemessages to catch it.
        obsolete = po.obsolete_entries()
        if obsolete:
            problems.append(
                f"{po_path.name}: {len(obsolete)} obsolete (#~) entries; run makemessages "
                "with --no-obsolete"
            )
        if not mo_path.exists():
            problems.append(f"{mo_path}: missing; run manage.py compilemessages")
            continue
        compiled = {_key(e): _text(e) for e in polib.mofile(str(mo_path)) if e.msgid}
        translated = {_key(e): _text(e) for e in po.translated_entries()}
        both = translated.keys() & compiled.keys()
        stale = [key for key in both if compiled[key] != translated[key]]
        if compiled.keys() != translated.keys() or stale:
            problems.append(
                f"{mo_path.name} does not match {po_path.name} "
                f"({len(translated.keys() - compiled.keys())} entries not compiled, "
                f"{len(compiled.keys() - translated.keys())} compiled but gone, "
                f"{len(stale)} with another translation); run compilemessages"
            )
    return problems


def statistics(language: str = "zh_Hans", locale: Path = LOCALE) -> str:
    parts = []
    for domain in DOMAINS:
        po = polib.pofile(str(locale / language / "LC_MESSAGES" / f"{domain}.po"))
        parts.append(
            f"{domain}: {len(po.translated_entries())} translated, "
            f"{len(po.fuzzy_entries())} fuzzy, {len(po.untranslated_entries())} untranslated, "
            f"{len(po.obsolete_entries())} obsolete"
        )
    return f"{language}: " + "; ".join(parts)


def main(argv: list[str]) -> int:
    failed = False
    for language in argv or ["zh_Hans"]:
        problems = catalogue_problems(language)
        for problem in problems:
            print(f"{language}: {problem}", file=sys.stderr)
        if problems:
            failed = True
        else:
            print(statistics(language))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
