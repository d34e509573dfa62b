"""What Eurostat says instead of data: error bodies, the asynchronous envelopes, the Statistics API's warning.

Shapes, as documented (https://ec.europa.eu/eurostat/web/user-guides/data-browser/api-data-access/api-detailed-guidelines/asynchronous-api
and the ASYNC API's OpenAPI description it links):

- an error body of the Statistics API: ``{"error": [{"status": 400, "id": 150, "label": "INVALID_QUERY_..."}]}``;
- an error body of the SDMX APIs: a SOAP fault ``<S:Fault><faultcode>413</faultcode><faultstring>EXTRACTION_TOO_BIG:
  ...</faultstring></S:Fault>`` (also ``UNKNOWN_REQUEST``, ``DATA_NOT_YET_AVAILABLE``) or an SDMX-ML error message
  ``<ErrorMessage code="100"><Text>No Results Found</Text></ErrorMessage>``;
- an SDMX extraction queued for asynchronous delivery, answered 200:
  ``<env:Envelope><env:Body><ns0:syncResponse><queued><id>KEY</id><status>SUBMITTED</status></queued>...``;
- the status of a queued extraction (``/1.0/async/status/KEY``):
  ``...<ns0:asyncResponse><ns1:status><ns1:key>KEY</ns1:key><ns1:status>PROCESSING</ns1:status>...``;
- the Statistics API's asynchronous answer, 200 with
  ``{"warning": {"status": 413, "label": "ASYNCHRONOUS_RESPONSE..."}}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from observatory.parse.json_depth import json_depth_problem

ENVELOPE_MAX_BYTES = 64 * 1024  # the envelopes and warnings are a few hundred bytes; data is never read as one

# An ElementTree element as defusedxml parses it (the standard library's XML modules are never imported here)
Element = Any


def error_message(body: bytes) -> str | None:
    """The message of a Eurostat error body (JSON or XML), None when it is neither."""
    document = _json(body)
    if isinstance(document, dict) and document.get("error"):
        errors = document["error"] if isinstance(document["error"], list) else [document["error"]]
        return "; ".join(_labelled(error, "error") for error in errors if isinstance(error, dict)) or None
    root = _xml(body)
    if root is None:
        return None
    faults = [
        f"{_text(fault, 'faultstring')} (Eurostat fault {_text(fault, 'faultcode')})"
        for fault in _elements(root, "Fault")
    ]
    messages = [
        f"{' '.join(_text(text) for text in _elements(message, 'Text'))} (SDMX error {message.get('code', '?')})"
        for message in _elements(root, "ErrorMessage")
    ]
    return "; ".join(faults + messages) or None


def queued_key(payload: bytes) -> str | None:
    """The key of an SDMX extraction Eurostat queued for asynchronous delivery, None for any other payload."""
    if b"queued" not in payload[:ENVELOPE_MAX_BYTES]:
        return None
    root = _xml(payload)
    queued = next(_elements(root, "queued"), None) if root is not None else None
    return (_text(queued, "id") or None) if queued is not None else None


def async_status(payload: bytes) -> str | None:
    """The status (SUBMITTED, PROCESSING, AVAILABLE, EXPIRED, ...) of an ``/async/status`` answer."""
    root = _xml(payload)
    response = next(_elements(root, "asyncResponse"), None) if root is not None else None
    status = next(_elements(response, "status"), None) if response is not None else None
    return (_text(status, "status") or None) if status is not None else None


def statistics_warning(payload: bytes) -> str | None:
    """The label of the Statistics API's 413 warning (the data is being prepared), None for any other payload."""
    if b"warning" not in payload[:ENVELOPE_MAX_BYTES]:
        return None
    document = _json(payload)
    warning = document.get("warning") if isinstance(document, dict) else None
    warnings = warning if isinstance(warning, list) else [warning]
    labels = [_labelled(w, "warning") for w in warnings if isinstance(w, dict) and str(w.get("status")) == "413"]
    return "; ".join(labels) or None


def _labelled(item: dict[str, Any], kind: str) -> str:
    code = item.get("id", item.get("status", "?"))
    return f"{item.get('label', '(no label)')} (Eurostat {kind} {code})"


def _json(body: bytes) -> Any:
    if len(body) > ENVELOPE_MAX_BYTES or body.lstrip()[:1] not in (b"{", b"[") or json_depth_problem(body):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _xml(body: bytes) -> Element | None:
    if len(body) > ENVELOPE_MAX_BYTES or body.lstrip()[:1] != b"<":
        return None
    try:
        return ElementTree.fromstring(body)
    except (ElementTree.ParseError, DefusedXmlException):
        return None


def _elements(root: Element, name: str) -> Iterator[Element]:
    """Elements named ``name`` in any namespace, ``root`` included."""
    return (element for element in root.iter() if element.tag.rsplit("}", 1)[-1] == name)


def _text(element: Element, child: str | None = None) -> str:
    """The text of ``element`` (or of its first descendant named ``child``), stripped."""
    found: Element | None = element
    if child is not None:
        found = next((e for e in _elements(element, child) if e is not element), None)
    return (found.text or "").strip() if found is not None else ""
