"""Writing the catalogue: the shipped file's loader, administrators' edits, flags."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from catalogue.models import TRACKED_COLUMNS, CatalogueModel, PairingReview, row_entry
from jobs.registry import catalogue_changed, shipped_entries, spec_from_entry

logger = logging.getLogger(__name__)

_DATE_COLUMNS = ("shutdown_on", "announced_on")
JSON_COLUMNS = ("spec", "price")


@dataclass
class LoadReport:
    version: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # Added by an administrator under a name the shipped file now uses: left alone.
    kept: list[str] = field(default_factory=list)
    # Fields kept because an administrator edited them, as "model: field".
    kept_fields: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


def _column_value(column: str, value):
    if column in _DATE_COLUMNS and isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value


def catalogue_load(*, path: Path | str | None = None, model=CatalogueModel) -> LoadReport:
    """Load or update the catalogue from the shipped file, field by field.

    A field an administrator edited (``edited_fields``: a column, or ``spec.<key>`` /
    ``price.<key>``) is kept; every other field follows the file. Models missing from the
    database are added; models an administrator added are never touched. Idempotent.
    ``model`` is the migration's historical model when run from a data migration.
    """
    version, entries = shipped_entries(path)
    report = LoadReport(version=version)
    with transaction.atomic():
        for entry in entries:
            spec_from_entry(entry)  # a broken shipped file stops here, before any write
            row = model.objects.select_for_update().filter(name=entry["name"]).first()
            if row is None:
                model.objects.create(
                    name=entry["name"],
                    copied_from=entry["copied_from"],
                    spec=entry["spec"],
                    price=entry["price"],
                    shipped_version=version,
                    **{c: _column_value(c, entry[c]) for c in TRACKED_COLUMNS},
                )
                report.added.append(entry["name"])
                continue
            if not row.shipped_version:
                report.kept.append(row.name)
                continue
            _merge(row, entry, version, report, model)
    transaction.on_commit(catalogue_changed)
    return report


def _merge(row, entry: dict, version: str, report: LoadReport, model) -> None:
    edited = set(row.edited_fields or [])
    changed = False
    for column in TRACKED_COLUMNS:
        shipped = _column_value(column, entry[column])
        if column in edited:
            if getattr(row, column) != shipped:
                report.kept_fields.append(f"{row.name}: {column}")
            continue
        if getattr(row, column) != shipped:
            setattr(row, column, shipped)
            changed = True
    for column in JSON_COLUMNS:
        current, shipped = dict(getattr(row, column) or {}), entry[column]
        merged = {}
        for key in [*shipped, *(k for k in current if k not in shipped)]:
            if f"{column}.{key}" in edited:
                if key in current:
                    merged[key] = current[key]
                if current.get(key) != shipped.get(key):
                    report.kept_fields.append(f"{row.name}: {column}.{key}")
            elif key in shipped:
                merged[key] = shipped[key]
        if merged != current:
            setattr(row, column, merged)
            changed = True
    try:
        spec_from_entry(row_entry(row))
    except ValidationError as error:
        # The shipped values and the kept edits no longer fit together: keep the row as it
        # was and say so, rather than serve a spec nobody can use.
        report.refused[row.name] = " ".join(error.messages)
        return
    if changed or row.shipped_version != version:
        row.shipped_version = version
        row.save()
        (report.updated if changed else report.unchanged).append(row.name)
    else:
        report.unchanged.append(row.name)


# -- administrators' edits -----------------------------------------------------------------


def edited_fields_of(*, before: dict, after: dict) -> set[str]:
    """The fields (columns, ``spec.<key>``, ``price.<key>``) that differ between two entries."""
    changed = {c for c in TRACKED_COLUMNS if before.get(c) != after.get(c)}
    for column in JSON_COLUMNS:
        old, new = before.get(column) or {}, after.get(column) or {}
        changed |= {f"{column}.{k}" for k in set(old) | set(new) if old.get(k) != new.get(k)}
    return changed


def catalogue_model_save(*, row: CatalogueModel, before: dict | None) -> CatalogueModel:
    """Save an administrator's edit, recording which fields changed so that the loader
    keeps them. Raises ValidationError when the entry does not make a usable spec."""
    spec_from_entry(row.entry())
    if before is not None:
        edited = set(row.edited_fields or []) | edited_fields_of(before=before, after=row.entry())
        row.edited_fields = sorted(edited)
    row.save()
    transaction.on_commit(catalogue_changed)
    return row


def catalogue_model_copy(
    *, name: str, family: str, template: CatalogueModel, label_en: str = ""
) -> CatalogueModel:
    """A new model "like" ``template``: its capabilities and price, available, with no
    lifecycle history; the administrator then edits what differs."""
    if template.family != family:
        raise ValidationError(
            {"template": [f"{template.name} belongs to the {template.family} family."]}
        )
    if CatalogueModel.objects.filter(name=name).exists():
        raise ValidationError({"name": [f"The catalogue already has {name}."]})
    row = CatalogueModel(
        name=name,
        family=family,
        copied_from=template.name,
        position=template.position,
        label_en=label_en or name,
        label_zh=label_en or name,
        lifecycle="available",
        spec=dict(template.spec),
        price=dict(template.price),
    )
    spec_from_entry(row.entry())
    row.save()
    transaction.on_commit(catalogue_changed)
    return row


# -- pairings for staff to review --------------------------------------------------------


def pairing_flag(*, connection: str, model: str, reason: str, detail: str = "") -> PairingReview:
    """Mark a connection/model pairing for review; a repeat counts on the open flag."""
    with transaction.atomic():
        flag, created = PairingReview.objects.select_for_update().get_or_create(
            connection=connection,
            model=model,
            reason=reason,
            resolved=False,
            defaults={"detail": detail[:2000]},
        )
        if not created:
            PairingReview.objects.filter(pk=flag.pk).update(
                occurrences=F("occurrences") + 1, detail=detail[:2000] or flag.detail
            )
            flag.refresh_from_db()
    logger.warning("connection %s: model %s flagged for review (%s)", connection, model, reason)
    return flag


def pairing_flag_invalid_model(*, job, detail: str = "") -> None:
    """The provider behind ``job.connection`` answered invalid_model for ``job.model``."""
    pairing_flag(
        connection=job.connection,
        model=job.model,
        reason=PairingReview.Reason.INVALID_MODEL,
        detail=detail,
    )
