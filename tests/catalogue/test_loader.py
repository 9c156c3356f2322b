"""The shipped file is loaded field by field: an administrator's edits survive an upgrade."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from catalogue.models import CatalogueModel
from catalogue.services import catalogue_load, catalogue_model_save
from jobs.registry import SHIPPED_FILE, catalogue_changed, get_model, models, shipped_models

pytestmark = pytest.mark.django_db


def shipped_copy(tmp_path, change):
    data = json.loads(SHIPPED_FILE.read_text())
    change(data)
    path = tmp_path / "models.json"
    path.write_text(json.dumps(data))
    return path


def entry(data, name):
    return next(m for m in data["models"] if m["name"] == name)


def test_the_database_serves_exactly_the_shipped_entries(catalogue):
    assert models() == shipped_models()
    assert CatalogueModel.objects.count() == len(shipped_models())


def test_loading_twice_changes_nothing(catalogue):
    before = list(CatalogueModel.objects.order_by("name").values())
    report = catalogue_load()
    assert report.added == report.updated == report.kept == []
    assert sorted(report.unchanged) == sorted(shipped_models())
    assert list(CatalogueModel.objects.order_by("name").values()) == before


def test_an_administrators_edit_is_kept_and_the_other_fields_follow_the_file(catalogue, tmp_path):
    row = CatalogueModel.objects.get(name="gpt-image-2")
    before = row.entry()
    row.spec = {**row.spec, "sizes": ["1024x1024"], "default_size": "1024x1024"}
    row.label_zh = "GPT 图像 2"
    catalogue_model_save(row=row, before=before)
    row.refresh_from_db()
    assert set(row.edited_fields) == {"spec.sizes", "spec.default_size", "label_zh"}

    def upgrade(data):
        data["version"] = "2027.01.01"
        gpt2 = entry(data, "gpt-image-2")
        gpt2["spec"]["sizes"] = ["1024x1024", "2048x2048", "auto"]
        gpt2["spec"]["n_max"] = 8
        gpt2["label_zh"] = "shipped label"
        gpt2["lifecycle"]["note"] = "Shipped note."
        data["models"].append({**gpt2, "name": "gpt-image-3", "label_en": "GPT Image 3"})

    report = catalogue_load(path=shipped_copy(tmp_path, upgrade))
    assert report.added == ["gpt-image-3"]
    assert "gpt-image-2" in report.updated
    assert "gpt-image-2: spec.sizes" in report.kept_fields
    row.refresh_from_db()
    assert row.spec["sizes"] == ["1024x1024"]  # edited: kept
    assert row.label_zh == "GPT 图像 2"  # edited: kept
    assert row.spec["n_max"] == 8  # not edited: follows the file
    assert row.lifecycle_note == "Shipped note."
    assert row.shipped_version == "2027.01.01"
    catalogue_changed()
    assert get_model("gpt-image-2").sizes == ("1024x1024",)
    assert get_model("gpt-image-3").label == "GPT Image 3"
    # And again: nothing more to do.
    again = catalogue_load(path=shipped_copy(tmp_path, upgrade))
    assert again.added == again.updated == []


def test_a_model_an_administrator_added_is_never_touched(catalogue, tmp_path):
    from catalogue.services import catalogue_model_copy

    template = CatalogueModel.objects.get(name="gpt-image-2")
    catalogue_model_copy(name="house-model", family="openai_images", template=template)

    def ship_same_name(data):
        data["models"].append({**entry(data, "demo"), "name": "house-model"})

    report = catalogue_load(path=shipped_copy(tmp_path, ship_same_name))
    assert report.kept == ["house-model"]
    assert CatalogueModel.objects.get(name="house-model").family == "openai_images"


def test_the_command_loads_a_given_file(catalogue, tmp_path, capsys):
    CatalogueModel.objects.filter(name="dall-e-3").delete()

    def relabel(data):
        entry(data, "demo")["label_en"] = "Demo, relabelled"

    call_command("catalogue_load", file=str(shipped_copy(tmp_path, relabel)))
    out = capsys.readouterr().out
    assert "added: dall-e-3" in out
    assert "updated: demo" in out
    assert CatalogueModel.objects.get(name="demo").label_en == "Demo, relabelled"


def test_the_shipped_file_names_a_source_for_every_lifecycle_fact():
    data = json.loads(SHIPPED_FILE.read_text())
    for model in data["models"]:
        assert model["lifecycle"]["source"], model["name"]
    facts = {m["name"]: m["lifecycle"] for m in data["models"]}
    for name in ("gpt-image-1.5", "gpt-image-1-mini", "chatgpt-image-latest"):
        assert facts[name]["state"] == "shut_down"
        assert facts[name]["shutdown_on"] == "2026-12-01"
        assert facts[name]["announced_on"] == "2026-06-02"
        assert facts[name]["successor"] == "gpt-image-2"
        assert "deprecations" in facts[name]["source"]
    for name in ("dall-e-2", "dall-e-3"):
        assert (facts[name]["state"], facts[name]["shutdown_on"]) == ("shut_down", "2026-05-12")
    assert facts["gpt-image-2"]["state"] == "available"
