"""What the technical 500 page (DEBUG) and error e-mails may show."""

from __future__ import annotations

import os
import re
from typing import Any

from django.conf import settings
from django.views.debug import SafeExceptionReporterFilter

# "api_key": "…" inside a JSON text, such as ATELIER_CONNECTIONS in the environment.
_INLINE_KEY = re.compile(r'("api_key"\s*:\s*)"(?:[^"\\]|\\.)*"')


class AtelierExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter hides settings whose *name* looks secret. Provider keys also live
    inside values (the ``ATELIER_CONNECTIONS`` JSON, as a setting and, under runserver, in
    ``request.META``) and in local variables of the connection code: mask them there too,
    by key name and by the configured key values themselves."""

    def _known_keys(self) -> list[str]:
        keys = [getattr(settings, "OPENAI_API_KEY", "")]
        entries = getattr(settings, "ATELIER_CONNECTIONS", [])
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict):
                keys.append(str(entry.get("api_key") or ""))
                if isinstance(entry.get("api_key_env"), str):
                    keys.append(os.environ.get(entry["api_key_env"], ""))
        # Very short values would mask ordinary words; real keys are long.
        return sorted({k for k in keys if len(k) >= 8}, key=len, reverse=True)

    def _mask(self, value: Any, known: list[str]) -> Any:
        if isinstance(value, str):
            text = str(value)  # lazy strings are str subclasses the regex cannot read
            masked = _INLINE_KEY.sub(rf'\1"{self.cleansed_substitute}"', text)
            for key in known:
                masked = masked.replace(key, self.cleansed_substitute)
            return value if masked == text else masked
        if isinstance(value, dict):
            return {
                k: self.cleansed_substitute
                if isinstance(k, str) and self.hidden_settings.search(k)
                else self._mask(v, known)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return type(value)(self._mask(v, known) for v in value)
        if known and not isinstance(value, int | float | bool | type(None)):
            try:
                shown = repr(value)
            except Exception:
                return value
            if any(key in shown for key in known):
                return self._mask(shown, known)
        return value

    def cleanse_setting(self, key, value):
        return self._mask(super().cleanse_setting(key, value), self._known_keys())

    def get_traceback_frame_variables(self, request, tb_frame):
        known = self._known_keys()
        return [
            (name, self.cleansed_substitute)
            if self.hidden_settings.search(name)
            else (name, self._mask(value, known))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]
