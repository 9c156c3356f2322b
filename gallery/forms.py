from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.core.exceptions import BadRequest
from django.utils.formats import date_format
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from gallery.selectors import ID_MAX, SORTS, ImageQuery
from gallery.services import tag_names_clean

SORT_LABELS = {"newest": _("Newest"), "oldest": _("Oldest"), "relevance": _("Relevance")}


class SearchForm(forms.Form):
    FILTERS = ("model", "size", "date_from", "date_to", "owner", "tag", "favourite")

    q = forms.CharField(
        required=False,
        max_length=200,
        label=_("Search images"),
        widget=forms.TextInput(
            attrs={"type": "search", "aria-describedby": "search-help", "autocomplete": "off"}
        ),
    )
    model = forms.ChoiceField(
        required=False,
        label=_("Model"),
        choices=[("", _("Any model"))],
        error_messages={"invalid_choice": _("None of these images was made with “%(value)s”.")},
    )
    size = forms.RegexField(
        required=False,
        regex=r"^\d{1,5}x\d{1,5}$",
        max_length=11,
        label=_("Size (WxH)"),
        error_messages={"invalid": _("Write the size as width x height, e.g. 1024x1024.")},
    )
    date_from = forms.DateField(
        required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label=_("To"), widget=forms.DateInput(attrs={"type": "date"})
    )
    owner = forms.CharField(required=False, max_length=150, label=_("Owner"))
    tag = forms.CharField(required=False, max_length=50, label=_("Tag"))
    collection = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    favourite = forms.BooleanField(required=False, label=_("Favourites only"))
    sort = forms.ChoiceField(
        required=False, label=_("Sort"), choices=[(s, SORT_LABELS[s]) for s in SORTS]
    )
    cursor = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)

    def __init__(self, *args, models: Iterable[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.models = list(models)
        model_field = cast(forms.ChoiceField, self.fields["model"])
        model_field.choices = [("", _("Any model"))] + [(name, name) for name in self.models]
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
                gettext(
                    "“To” (%(to)s) is before “From” (%(from)s): no image can match. "
                    "Swap the dates or clear one."
                )
                % {"to": date_format(date_to), "from": date_format(date_from)},
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
    tags = forms.CharField(max_length=300, label=_("Tags"), help_text=_("Comma-separated."))

    def clean_tags(self):
        return tag_names_clean(text=self.cleaned_data["tags"])


class CollectionForm(forms.Form):
    name = forms.CharField(max_length=100)
    team = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)

    def __init__(self, *args, teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.teams = {team.id: team for team in teams}
        team_field = cast(forms.TypedChoiceField, self.fields["team"])
        team_field.choices = [("", _("Personal"))] + [(team.id, team.name) for team in teams]


class _ImageIdsField(forms.TypedMultipleChoiceField):
    """Ids are checked against what the user may touch by the view, not by choices."""

    def valid_value(self, value) -> bool:
        return True

    def clean(self, value):
        ids = super().clean(value)
        # A number no id column holds is a forged request: 400, never a database error.
        if any(not 1 <= i <= ID_MAX for i in ids):
            raise BadRequest(gettext("An image id is out of range."))
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
        (Action.ZIP, _("Download as ZIP")),
        (Action.COLLECT, _("Add to collection")),
        (Action.TAG, pgettext_lazy("verb", "Tag")),
        (Action.SHARE, _("Share with team")),
        (Action.UNSHARE, _("Remove from team")),
        (Action.DELETE, _("Delete")),
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
            self.add_error("collection", gettext("Choose a collection."))
        if action == self.Action.SHARE and not data.get("team"):
            self.add_error("team", gettext("Choose a team."))
        if action == self.Action.TAG:
            data["tag_names"] = tag_names_clean(text=data.get("tags") or "")
            if not data["tag_names"]:
                self.add_error("tags", gettext("Give at least one tag."))
        return data
