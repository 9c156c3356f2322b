from notifications.selectors import NavState


def nav(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"nav_state": NavState(user_id=user.pk)}
