"""Under daphne, request bodies reach Django unparsed.

Twisted's Request parses every POST with a multipart/form-data or form-urlencoded body itself
(for `request.args`, which daphne never uses) before daphne sees the request. A multipart body it
cannot parse (no boundary, garbage after it) gets Twisted's bare `400` with an empty body and a
closed connection: Django, DRF and our JSON errors never run (django/channels#1386, twisted#9739).
It also holds a second parsed copy of every upload in memory. Switching that parse off
(Twisted's `parsePOSTFormSubmission=False`) leaves the body to Django's parsers, which answer a
malformed one with the usual `{"detail", "code"}` 400.
"""

from __future__ import annotations

from typing import Any

from daphne import http_protocol


def leave_request_bodies_to_django() -> None:
    """Make daphne's HTTP factory build its requests without Twisted's form parsing. Harmless under
    uvicorn (daphne is an installed app there too, its classes just go unused); safe to repeat."""
    if getattr(http_protocol.WebRequest, "leaves_bodies_to_django", False):
        return

    class UnparsedBodyRequest(http_protocol.WebRequest):
        leaves_bodies_to_django = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["parsePOSTFormSubmission"] = False
            super().__init__(*args, **kwargs)

    # HTTPFactory.buildProtocol looks the class up by this module-level name for each connection.
    http_protocol.WebRequest = UnparsedBodyRequest
