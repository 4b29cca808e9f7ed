"""The one module that knows Apprise (the `alerts` extra): a notification URL checked and
named without its secrets, and one message sent to it.

A notification URL carries secrets (a bot's token, a webhook's path, a password): it is never
printed, logged or stored. What is shown is its label: Apprise's own privacy form of it (which
hides passwords and the tokens it knows), cut at the host (a path or query may hold a token
Apprise does not know of), with the first characters of the URL's sha256 to tell two apart.
Apprise's log lines are captured, not passed on, and a failure's words have every part of
the URL taken out before anyone sees them.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .._errors import UsageError

__all__ = ["Destination", "available", "destination", "redact", "send"]


@dataclass(frozen=True, slots=True)
class Destination:
    """A notification URL (secret: not in the repr) and what may be shown of it."""

    url: str = field(repr=False)
    label: str
    fingerprint: str  # sha256 of the URL, hex


def available() -> bool:
    try:
        import apprise  # noqa: F401
    except ImportError:
        return False
    return True


def _scheme_only(url: str) -> str:
    scheme = url.partition("://")[0] if "://" in url else "?"
    return f"{scheme[:20]}://…"


def destination(url: str) -> Destination:
    """The destination of `url`; UsageError (naming it by its scheme only) when Apprise does
    not know how to send to it."""
    import apprise

    url = url.strip()
    fingerprint = hashlib.sha256(url.encode()).hexdigest()
    capture: Any = apprise.LogCapture  # (Apprise types only part of its names)
    with capture(level=logging.ERROR):
        service: Any = apprise.Apprise.instantiate(url)
    if service is None:
        raise UsageError(
            f"--notify {_scheme_only(url)}: not a notification URL Apprise can send to (see "
            "https://github.com/caronc/apprise/wiki for the forms: json://, mailto://, "
            "ntfy://, tgram://, ...)"
        )
    private = urlsplit(service.url(privacy=True))
    rest = "/…" if private.path.strip("/") or private.query else ""
    return Destination(url, f"{private.scheme}://{private.netloc}{rest} #{fingerprint[:8]}",
                       fingerprint)  # fmt: skip


def _secrets(url: str) -> list[str]:
    """Every part of `url` that may be a secret, longest first."""
    parts = urlsplit(url)
    found = {url, parts.netloc, parts.username or "", parts.password or "", parts.hostname or ""}
    found.update(segment for segment in re.split(r"[/:@]", unquote(parts.path)))
    found.update(segment for segment in parts.netloc.split(":"))
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        found.update((key, value))
    return sorted((s for s in found if len(s) >= 3), key=len, reverse=True)


def redact(text: str, url: str) -> str:
    """`text` with every part of `url` that could be a secret replaced by '…'."""
    for secret in _secrets(url):
        text = text.replace(secret, "…")
    return text


def send(to: Destination, title: str, body: str, timeout: float) -> str | None:
    """Send one message; None when it was delivered, else why not (in words free of the
    URL's secrets). Blocking: call it from a thread."""
    import apprise

    sender = apprise.Apprise()
    sender.add(to.url)
    capture: Any = apprise.LogCapture
    with capture(level=logging.WARNING) as log:
        try:
            sent = bool(sender.notify(body=body, title=title, timeout=timeout))
        except Exception as error:
            sent = False
            log.write(f"{type(error).__name__}: {error}\n")
        words = log.getvalue()
    if sent:
        return None
    lines = [line.split(" - ", 2)[-1].strip() for line in words.splitlines() if line.strip()]
    reason = "; ".join(dict.fromkeys(lines)) or "the destination did not accept it"
    return redact(reason, to.url)[:300]
