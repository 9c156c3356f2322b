from django import forms
from django.utils.translation import gettext_lazy as _

from teams.models import Membership


class TeamForm(forms.Form):
    name = forms.CharField(max_length=100, label=_("Name"))


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150, label=_("Username"))
    role = forms.ChoiceField(
        choices=Membership.Role.choices, initial=Membership.Role.VIEWER, label=_("Role")
    )
