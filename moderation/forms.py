from django import forms
from django.utils.translation import gettext_lazy as _

from gallery.models import Image
from moderation.services import ImageAction

REASON_WIDGET = forms.Textarea(attrs={"rows": 2})


class ReportForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        widget=REASON_WIDGET,
        label=_("Reason"),
        help_text=_("What is wrong with this image? Staff read every report."),
    )


class ImageDecisionForm(forms.Form):
    images = forms.ModelMultipleChoiceField(queryset=Image.objects.all(), label=_("Images"))
    action = forms.ChoiceField(choices=ImageAction.CHOICES, label=_("Decision"))
    reason = forms.CharField(max_length=2000, widget=REASON_WIDGET, label=_("Reason"))


class ImageActionForm(forms.Form):
    """One decision about one image, taken from its page."""

    action = forms.ChoiceField(choices=ImageAction.CHOICES, label=_("Decision"))
    reason = forms.CharField(max_length=2000, widget=REASON_WIDGET, label=_("Reason"))


class MemberSearchForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=150,
        label=_("Search members"),
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("username or email")}),
    )
    suspended = forms.BooleanField(required=False, label=_("Suspended only"))


class SuspendForm(forms.Form):
    reason = forms.CharField(max_length=2000, widget=REASON_WIDGET, label=_("Reason"))
    hide_images = forms.BooleanField(required=False, label=_("Also hide all their images"))


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=2000, widget=REASON_WIDGET, label=_("Reason"))
