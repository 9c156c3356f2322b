from django import forms
from django.utils.translation import gettext_lazy as _

from api.models import Scope


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[Scope.READ],
    )
    team = forms.TypedChoiceField(label=_("Acts for"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.teams = {team.id: team for team in teams}
        team_field = self.fields["team"]
        assert isinstance(team_field, forms.TypedChoiceField)
        team_field.choices = [("", _("Me (all my images)"))] + [
            (team.id, team.name) for team in teams
        ]

    def chosen_team(self):
        team_id = self.cleaned_data.get("team")
        return self.teams.get(team_id) if team_id else None


class RevokeForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)
