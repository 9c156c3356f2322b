from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.core.exceptions import BadRequest
from django.utils.formats import date_format

from gallery.selectors import ID_MAX, SORTS, ImageQuery
from gallery.services import tag_names_clean


class SearchForm(forms.Form):
    FILTERS = ("model", "size", "date_from", "date_to", "owner", "tag", "favourite")

    q = forms.CharField(
        required=False,
        max_length=200,
        label="Search images",
        widget=forms.TextInput(
            attrs={"type": "search", "aria-describedby": "search-help", "autocomplete": "off"}
        ),
    )
    model = forms.ChoiceField(
        required=False,
        choices=[("", "Any model")],
        error_messages={"invalid_choice": "None of these images was made with “%(value)s”."},
    )
    size = forms.RegexField(
        required=False,
        regex=r"^\d{1,5}x\d{1,5}$",
        max_length=11,
        label="Size (WxH)",
        error_messages={"invalid": "Write the size as width x height, e.g. 1024x1024."},
    )
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    owner = forms.CharField(required=False, max_length=150)
    tag = forms.CharField(required=False, max_length=50)
    collection = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    favourite = forms.BooleanField(required=False, label="Favourites only")
    sort = forms.ChoiceField(required=False, choices=[(s, s.title()) for s in SORTS])
    cursor = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)

    def __init__(self, *args, models: Iterable[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.models = list(models)
        model_field = cast(forms.ChoiceField, self.fields["model"])
        model_field.choices = [("", "Any model")] + [(name, name) for name in self.models]
        # Links and people type model names in any case ("Demo"): the filter takes the
        # stored name.
        typed = self.data.get("model", "")
        stored = {name.lower(): name for name in self.models}.get(typed.lower())
        if stored and stored != typed:
            self.data = {**{key: self.data.get(key) for key in self.data}, "model": stored}

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["aria-describedby"] = f"{self[name].auto_id}-error"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error(
                "date_to",
                f"“To” ({date_format(date_to)}) is before “From” ({date_format(date_from)}):"
                " no image can match. Swap the dates or clear one.",
            )
        return data

    @property
    def active_filters(self) -> list[str]:
        """The labels of the filters this search applies (or tried to), for the panel's badge."""
        return [
            str(self[name].label) for name in self.FILTERS if self.data.get(name) not in (None, "")
        ]

    def image_query(self) -> ImageQuery:
        """The query the form asks for; an invalid field is ignored rather than failing the page."""
        data = {
            name: value
            for name, value in getattr(self, "cleaned_data", {}).items()
            if value not in (None, "")
        }
        return ImageQuery(**data)


class ImageEditForm(forms.Form):
    title = forms.CharField(required=False, max_length=200)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


class TagForm(forms.Form):
    tags = forms.CharField(max_length=300, help_text="Comma-separated.")

    def clean_tags(self):
        return tag_names_clean(text=self.cleaned_data["tags"])


class CollectionForm(forms.Form):
    name = forms.CharField(max_length=100)
    team = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)

    def __init__(self, *args, teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.teams = {team.id: team for team in teams}
        team_field = cast(forms.TypedChoiceField, self.fields["team"])
        team_field.choices = [("", "Personal")] + [(team.id, team.name) for team in teams]


class _ImageIdsField(forms.TypedMultipleChoiceField):
    """Ids are checked against what the user may touch by the view, not by choices."""

    def valid_value(self, value) -> bool:
        return True

    def clean(self, value):
        ids = super().clean(value)
        # A number no id column holds is a forged request: 400, never a database error.
        if any(not 1 <= i <= ID_MAX for i in ids):
            raise BadRequest("An image id is out of range.")
        return ids


class BulkForm(forms.Form):
    class Action:
        COLLECT = "collect"
        TAG = "tag"
        SHARE = "share"
        UNSHARE = "unshare"
        ZIP = "zip"
        DELETE = "delete"

    ACTIONS = [
        (Action.ZIP, "Download as ZIP"),
        (Action.COLLECT, "Add to collection"),
        (Action.TAG, "Tag"),
        (Action.SHARE, "Share with team"),
        (Action.UNSHARE, "Remove from team"),
        (Action.DELETE, "Delete"),
    ]

    action = forms.ChoiceField(choices=ACTIONS)
    images = _ImageIdsField(coerce=int)
    collection = forms.IntegerField(required=False, min_value=1, max_value=ID_MAX)
    team = forms.IntegerField(required=False, min_value=1, max_value=ID_MAX)
    tags = forms.CharField(required=False, max_length=300)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        action = data.get("action")
        if action == self.Action.COLLECT and not data.get("collection"):
            self.add_error("collection", "Choose a collection.")
        if action == self.Action.SHARE and not data.get("team"):
            self.add_error("team", "Choose a team.")
        if action == self.Action.TAG:
            data["tag_names"] = tag_names_clean(text=data.get("tags") or "")
            if not data["tag_names"]:
                self.add_error("tags", "Give at least one tag.")
        return data
