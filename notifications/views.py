from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from notifications import selectors, services


@login_required
def notification_list(request):
    """Lists the latest notifications, new ones marked, then counts them as read."""
    notifications = selectors.notification_list(user=request.user)
    services.notifications_mark_read(user=request.user)
    return render(request, "notifications/list.html", {"notifications": notifications})
