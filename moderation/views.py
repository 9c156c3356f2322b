from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from gallery.selectors import image_get, image_urls
from moderation import selectors, services
from moderation.forms import (
    ImageActionForm,
    ImageDecisionForm,
    MemberSearchForm,
    ReasonForm,
    ReportForm,
    SuspendForm,
)
from moderation.permissions import staff_required
from moderation.services import ImageAction

# What a decision did, for its confirmation message.
_DONE = {"approve": _("Approve"), "hide": _("Hide"), "delete": _("Delete")}


@login_required
def report_image(request, image_id):
    image = image_get(user=request.user, image_id=image_id)
    if selectors.suspension_active(user=request.user) is not None:
        context = {"image": image, "refused": services.SUSPENDED_CANNOT_REPORT}
        return render(request, "moderation/report.html", context, status=403)
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.report_create(
                reporter=request.user, image=image, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, gettext("Thank you. Staff will review this image."))
            return redirect("gallery:detail", image.id)
    status = 400 if form.errors else 200
    return render(request, "moderation/report.html", {"image": image, "form": form}, status=status)


@login_required
def usage(request):
    return render(
        request,
        "moderation/usage.html",
        {
            "usage": selectors.usage_get(user=request.user),
            "months": selectors.spend_by_month(user=request.user),
            "teams": selectors.team_spend(user=request.user),
            "team_quotas": selectors.team_usage_list(user=request.user),
        },
    )


@staff_required
def queue(request):
    show_all = request.GET.get("all") == "1"
    images = selectors.report_queue(include_resolved=show_all)[:100]
    tiles = [(image, image_urls(image)) for image in images]
    return render(
        request,
        "moderation/queue.html",
        {"tiles": tiles, "form": ImageDecisionForm(), "show_all": show_all},
    )


@staff_required
@require_POST
def queue_decide(request):
    form = ImageDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Pick at least one image, an action and a reason."))
        return redirect("moderation:queue")
    count = services.images_moderate(
        actor=request.user,
        images=form.cleaned_data["images"],
        action=form.cleaned_data["action"],
        reason=form.cleaned_data["reason"],
    )
    messages.success(
        request,
        ngettext("%(action)s: %(count)s image.", "%(action)s: %(count)s images.", count)
        % {"action": _DONE[form.cleaned_data["action"]], "count": count},
    )
    return redirect("moderation:queue")


@staff_required
@require_POST
def image_decide(request, image_id):
    """A decision taken from the image page; the page shows the outcome in place."""
    image = image_get(user=request.user, image_id=image_id)
    form = ImageActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Pick an action and give a reason."))
        return redirect("gallery:detail", image.id)
    action = form.cleaned_data["action"]
    services.images_moderate(
        actor=request.user, images=[image], action=action, reason=form.cleaned_data["reason"]
    )
    messages.success(
        request, gettext("%(action)s: image %(id)s.") % {"action": _DONE[action], "id": image_id}
    )
    if action == ImageAction.DELETE:
        return redirect("moderation:queue")
    return redirect("gallery:detail", image.id)


@staff_required
def member_list(request):
    form = MemberSearchForm(request.GET)
    form.is_valid()
    q = form.cleaned_data.get("q", "").strip()
    members = selectors.member_list(q=q, suspended=form.cleaned_data.get("suspended", False))
    context = {
        "form": form,
        "members": members[: selectors.MEMBERS_PAGE],
        "more": len(members) > selectors.MEMBERS_PAGE,
        "q": q,
    }
    return render(request, "moderation/members.html", context)


def _member(user_id):
    return get_object_or_404(get_user_model(), id=user_id)


@staff_required
def member(request, user_id):
    person = _member(user_id)
    context = {
        "person": person,
        "suspension": selectors.suspension_active(user=person),
        "usage": selectors.usage_get(user=person),
        "months": selectors.spend_by_month(user=person),
        "events": person.moderation_events.select_related("job")[:20],
        "suspend_form": SuspendForm(),
        "reason_form": ReasonForm(),
    }
    return render(request, "moderation/member.html", context)


@staff_required
@require_POST
def member_suspend(request, user_id):
    person = _member(user_id)
    form = SuspendForm(request.POST)
    if form.is_valid():
        services.user_suspend(actor=request.user, user=person, **form.cleaned_data)
        messages.success(request, gettext("%(person)s is suspended.") % {"person": person})
    else:
        messages.error(request, gettext("Give a reason for the suspension."))
    return redirect("moderation:member", person.id)


@staff_required
@require_POST
def member_unsuspend(request, user_id):
    person = _member(user_id)
    form = ReasonForm(request.POST)
    if form.is_valid():
        services.user_unsuspend(actor=request.user, user=person, **form.cleaned_data)
        messages.success(
            request, gettext("%(person)s's suspension is lifted.") % {"person": person}
        )
    else:
        messages.error(request, gettext("Give a reason for lifting the suspension."))
    return redirect("moderation:member", person.id)


@staff_required
@require_POST
def member_hide_images(request, user_id):
    person = _member(user_id)
    form = ReasonForm(request.POST)
    if form.is_valid():
        hidden = services.user_images_hide(actor=request.user, user=person, **form.cleaned_data)
        messages.success(
            request,
            ngettext(
                "Hid %(count)s image of %(person)s.", "Hid %(count)s images of %(person)s.", hidden
            )
            % {"count": hidden, "person": person},
        )
    else:
        messages.error(request, gettext("Give a reason for hiding the images."))
    return redirect("moderation:member", person.id)


@staff_required
def dashboard(request):
    from catalogue.selectors import pairing_reviews_open, shutdown_notices

    context = {
        **selectors.dashboard_stats(),
        "shutdown_notices": shutdown_notices(),
        "pairing_reviews": pairing_reviews_open(),
    }
    return render(request, "moderation/dashboard.html", context)
