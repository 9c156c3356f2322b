from django import forms
from django.utils.translation import gettext_lazy as _

from webhooks.models import EventType


class EndpointForm(forms.Form):
    url = forms.URLField(label=_("URL"), max_length=2000, assume_scheme="https")
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label=_("Events"),
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[EventType.JOB_SUCCEEDED, EventType.JOB_FAILED],
    )


class EndpointCreateForm(EndpointForm):
    """``for_team``: empty for the user's own jobs, or a team they own."""

    for_team = forms.TypedChoiceField(
        label=_("Jobs of"), coerce=int, empty_value=None, required=False
    )

    def __init__(self, *args, teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.teams = {team.id: team for team in teams}
        field = self.fields["for_team"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", _("Me"))] + [(team.id, team.name) for team in teams]

    def clean_for_team(self):
        team_id = self.cleaned_data["for_team"]
        return self.teams.get(team_id) if team_id is not None else None


class EndpointEditForm(EndpointForm):
    enabled = forms.BooleanField(label=_("Enabled"), required=False)
