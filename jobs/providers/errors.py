"""Provider failures, split into retryable and permanent, with words a person understands."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext, gettext_noop


@dataclass(frozen=True)
class ErrorKind:
    message: str
    retryable: bool


# Codes from the seed documents and OpenAI's API, plus our own for transport failures.
CATALOG: dict[str, ErrorKind] = {
    "invalid_api_key": ErrorKind(
        gettext_noop(
            "The image provider rejected Atelier's API key. Ask an administrator to check the "
            "key configured for this provider."
        ),
        retryable=False,
    ),
    "invalid_model": ErrorKind(
        gettext_noop(
            "The image provider does not offer this model. Pick another model, or ask an "
            "administrator which models this provider serves."
        ),
        retryable=False,
    ),
    "insufficient_user_quota": ErrorKind(
        gettext_noop(
            "The provider account has run out of credit. Ask an administrator to top it up; "
            "nothing was charged for this job."
        ),
        retryable=False,
    ),
    "invalid_messages": ErrorKind(
        gettext_noop(
            "The provider did not accept the prompt (it arrived empty or malformed). "
            "Check the prompt and try again."
        ),
        retryable=False,
    ),
    "internal_error": ErrorKind(
        gettext_noop(
            "The image provider had an internal error. Atelier retried; try again in a few minutes."
        ),
        retryable=True,
    ),
    "rate_limit_exceeded": ErrorKind(
        gettext_noop(
            "The image provider is rate-limiting requests. Atelier waited and retried; "
            "try again in a few minutes."
        ),
        retryable=True,
    ),
    "content_policy_violation": ErrorKind(
        gettext_noop(
            "The provider refused this prompt under its content policy. Rephrase the prompt."
        ),
        retryable=False,
    ),
    "moderation_blocked": ErrorKind(
        gettext_noop("The provider's safety system blocked this request. Rephrase the prompt."),
        retryable=False,
    ),
    "invalid_request": ErrorKind(
        gettext_noop("The provider rejected the request's parameters."),
        retryable=False,
    ),
    "provider_unavailable": ErrorKind(
        gettext_noop("The image provider is unavailable. Atelier retried; try again later."),
        retryable=True,
    ),
    "connection_error": ErrorKind(
        gettext_noop(
            "Atelier could not reach the image provider. Atelier retried; try again later."
        ),
        retryable=True,
    ),
    "timeout_unknown_outcome": ErrorKind(
        gettext_noop(
            "The provider did not answer in time, so we cannot tell whether it made (and billed) "
            "the image. Atelier did not send the request again; check the provider's usage page "
            "before retrying."
        ),
        retryable=False,
    ),
    "worker_lost_unknown_outcome": ErrorKind(
        gettext_noop(
            "Atelier's worker stopped while the provider was making this image, so we cannot tell "
            "whether it was made (and billed). Atelier did not send the request again; check the "
            "provider's usage page before retrying."
        ),
        retryable=False,
    ),
    "bad_response": ErrorKind(
        gettext_noop(
            "The provider sent an answer Atelier could not read. It was not sent again, to avoid "
            "paying twice; check the provider's usage page before retrying."
        ),
        retryable=False,
    ),
    "no_images": ErrorKind(
        gettext_noop("The provider answered without any image."),
        retryable=False,
    ),
    "image_url_expired": ErrorKind(
        gettext_noop(
            "The provider's link to the image no longer works (its links expire after 60 minutes), "
            "so the image could not be saved."
        ),
        retryable=False,
    ),
    "image_download_failed": ErrorKind(
        gettext_noop(
            "Atelier could not download the image from the provider. Atelier retried; try again."
        ),
        retryable=True,
    ),
    "image_link_refused": ErrorKind(
        gettext_noop(
            "The provider's image link pointed at an address Atelier does not download from "
            "(a private or internal network), so nothing was fetched or kept."
        ),
        retryable=False,
    ),
    "image_download_timeout": ErrorKind(
        gettext_noop(
            "The provider's image did not arrive in time, so the download was stopped. Atelier "
            "retried; try again later."
        ),
        retryable=True,
    ),
    "invalid_image": ErrorKind(
        gettext_noop("The provider sent data that is not a valid image."),
        retryable=False,
    ),
    "storage_unavailable": ErrorKind(
        gettext_noop(
            "Image storage was unavailable. The provider's answer is kept and Atelier will save "
            "the images when storage is back."
        ),
        retryable=True,
    ),
    "no_connection": ErrorKind(
        gettext_noop("No provider connection serves this model any more. Ask an administrator."),
        retryable=False,
    ),
    "stored_key_undecryptable": ErrorKind(
        gettext_noop(
            "The stored key cannot be decrypted: the key of this provider connection was saved "
            "under another DJANGO_SECRET_KEY. Nothing was sent; ask an administrator to "
            "re-enter it."
        ),
        retryable=False,
    ),
    "no_api_key": ErrorKind(
        gettext_noop(
            "This provider connection has no key (it is removed when the connection's address "
            "changes). Nothing was sent; ask an administrator to enter one."
        ),
        retryable=False,
    ),
    "stored_key_other_host": ErrorKind(
        gettext_noop(
            "The stored key of this provider connection belongs to another address. Nothing was "
            "sent; ask an administrator to enter the key again for the new address."
        ),
        retryable=False,
    ),
    "deadline_exceeded": ErrorKind(
        gettext_noop(
            "Atelier could not finish this job in time (workers were down or overloaded). "
            "Nothing more will be charged for it; submit it again."
        ),
        retryable=False,
    ),
    "too_many_attempts": ErrorKind(
        gettext_noop("The job failed repeatedly and Atelier gave up. Try again later."),
        retryable=False,
    ),
    "no_images_in_reply": ErrorKind(
        gettext_noop(
            "The model answered in words without any image. Try rephrasing the prompt as a "
            "request for a picture."
        ),
        retryable=False,
    ),
    "endpoint_not_found": ErrorKind(
        gettext_noop(
            "The provider does not offer this kind of request (it answered 404). Ask an "
            "administrator whether this connection supports it."
        ),
        retryable=False,
    ),
    "access_denied": ErrorKind(
        gettext_noop(
            "The provider refused access to this model or endpoint (403). Ask an administrator "
            "to check the account's permissions."
        ),
        retryable=False,
    ),
    "input_unavailable": ErrorKind(
        gettext_noop(
            "The uploaded image for this job is no longer in storage, so nothing was sent. "
            "Upload it again."
        ),
        retryable=False,
    ),
    # Midjourney (midjourney-proxy) submit result codes and task outcomes.
    "mj_queue_full": ErrorKind(
        gettext_noop(
            "Midjourney's queue is full (code 23). Atelier waited and retried; try again later."
        ),
        retryable=True,
    ),
    "mj_banned_prompt": ErrorKind(
        gettext_noop("Midjourney refused the prompt as banned (code 24). Rephrase the prompt."),
        retryable=False,
    ),
    "mj_validation_error": ErrorKind(
        gettext_noop("Midjourney rejected the request as invalid (code 4)."),
        retryable=False,
    ),
    "mj_not_found": ErrorKind(
        gettext_noop("Midjourney no longer knows the task this action refers to (code 3)."),
        retryable=False,
    ),
    "mj_failure": ErrorKind(
        gettext_noop(
            "Midjourney could not accept the task (code 9, a failure on its side). Atelier "
            "retried; try again later."
        ),
        retryable=True,
    ),
    "mj_submit_failed": ErrorKind(
        gettext_noop("Midjourney did not accept the task."),
        retryable=False,
    ),
    "mj_task_failed": ErrorKind(
        gettext_noop("Midjourney could not finish the task."),
        retryable=False,
    ),
    "mj_timeout": ErrorKind(
        gettext_noop(
            "Midjourney did not finish the task in time. It was cancelled at the provider."
        ),
        retryable=False,
    ),
    "mj_task_lost": ErrorKind(
        gettext_noop(
            "Midjourney no longer knows this task, so Atelier cannot tell whether it finished (and "
            "was billed). Check Midjourney before trying again."
        ),
        retryable=False,
    ),
    "mj_no_actions": ErrorKind(
        gettext_noop("That button is not offered on this Midjourney image."),
        retryable=False,
    ),
    "mj_no_seed": ErrorKind(
        gettext_noop(
            "Midjourney's proxy could not find this image's seed. It needs the account's "
            "Midjourney (or Niji) direct-message channel configured on its side; ask an "
            "administrator."
        ),
        retryable=False,
    ),
}


# Codes whose provider text helps the person fix the request; the others never echo it
# (a 401 body quotes part of the key).
_SHOWS_DETAIL = {
    "invalid_request",
    "no_images_in_reply",
    "mj_submit_failed",
    "mj_task_failed",
    "mj_validation_error",
    "mj_no_seed",
}


class ProviderError(Exception):
    """A provider call that did not produce images."""

    def __init__(
        self,
        code: str,
        *,
        detail: str = "",
        http_status: int | None = None,
        retry_after: float | None = None,
        retryable: bool | None = None,
    ):
        kind = CATALOG.get(code) or CATALOG["invalid_request"]
        self.code = code
        self.detail = detail
        self.http_status = http_status
        self.retry_after = retry_after
        self.retryable = kind.retryable if retryable is None else retryable
        self.message = kind.message
        if code in _SHOWS_DETAIL and detail:
            self.message = f"{kind.message}{PROVIDER_SAID}{detail}"
        super().__init__(f"{code}: {detail or self.message}")


def message_for(code: str) -> str:
    return (CATALOG.get(code) or CATALOG["invalid_request"]).message


# Stored messages are English (a worker has no reader); they are translated when shown.
PROVIDER_SAID = " The provider said: "


def message_display(code: str, stored: str) -> str:
    """A job's stored error in the reader's language, the provider's own words kept as sent."""
    for kind in (CATALOG.get(code), CATALOG["invalid_request"]):
        if kind is not None and stored.startswith(kind.message):
            break
    else:
        return gettext(stored) if stored else ""
    rest = stored[len(kind.message) :].removeprefix(PROVIDER_SAID.rstrip()).strip()
    if not rest:
        return gettext(kind.message)
    return gettext("%(message)s The provider said: %(detail)s") % {
        "message": gettext(kind.message),
        "detail": rest,
    }
