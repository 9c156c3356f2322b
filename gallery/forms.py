from typing import Any, cast

from django import forms

from gallery.selectors import SORTS, ImageQuery
from gallery.services import tag_names_clean


class SearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    model = forms.CharField(required=False, max_length=64)
    size = forms.RegexField(
        required=False, regex=r"^\d{1,5}x\d{1,5}$", max_length=11, label="Size (WxH)"
    )
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    owner = forms.CharField(required=False, max_length=150)
    tag = forms.CharField(required=False, max_length=50)
    collection = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    favourite = forms.BooleanField(required=False, label="Favourites only")
    sort = forms.ChoiceField(required=False, choices=[(s, s.title()) for s in SORTS])
    cursor = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)

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
    collection = forms.IntegerField(required=False, min_value=1)
    team = forms.IntegerField(required=False, min_value=1)
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
