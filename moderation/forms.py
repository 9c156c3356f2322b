from django import forms

from gallery.models import Image
from moderation.services import ImageAction

REASON_WIDGET = forms.Textarea(attrs={"rows": 2})


class ReportForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        widget=REASON_WIDGET,
        help_text="What is wrong with this image? Staff read every report.",
    )


class ImageDecisionForm(forms.Form):
    images = forms.ModelMultipleChoiceField(queryset=Image.objects.all())
    action = forms.ChoiceField(choices=ImageAction.CHOICES)
    reason = forms.CharField(max_length=2000, widget=REASON_WIDGET)


class ImageActionForm(forms.Form):
    """One decision about one image, taken from its page."""

    action = forms.ChoiceField(choices=ImageAction.CHOICES)
    reason = forms.CharField(max_length=2000, widget=REASON_WIDGET)


class MemberSearchForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=150,
        label="Search members",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "username or email"}),
    )
    suspended = forms.BooleanField(required=False, label="Suspended only")


class SuspendForm(forms.Form):
    reason = forms.CharField(max_length=2000, widget=REASON_WIDGET)
    hide_images = forms.BooleanField(required=False, label="Also hide all their images")


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=2000, widget=REASON_WIDGET)
