"""Request bodies: size and nesting checked before the JSON parser reads them."""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Any

from faceid_fn.domain.errors import InvalidInput, ServiceError


class RequestTooLarge(ServiceError):
    """A body larger than any request of this API needs."""

    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


# A start request's body is a few hundred bytes and three levels deep (the object, Config, its values);
# its longest fields (CompareImageUrl 4,096 characters, RedirectUrl 2,048, Extra 1,000) fit in 64 KiB
# even written as six-byte JSON `\uXXXX` escapes. Anything larger or deeper is refused before it is
# parsed (API Gateway and Lambda alone would pass up to 6 MB, and json's parser recurses once per level).
MAX_REQUEST_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32
_JSON_STRUCTURE = re.compile(r'[\\"\[\]{}]')


def read_json_body(text: str) -> Any:
    """A request body as JSON (the resolvers' deserializer), size and depth checked first."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_REQUEST_BODY_BYTES:
        raise RequestTooLarge("RequestTooLarge", f"The body is larger than {MAX_REQUEST_BODY_BYTES:,} bytes")
    # Text with no more opening brackets than the limit cannot nest deeper: no need to count its depth.
    if text.count("{") + text.count("[") > MAX_JSON_DEPTH and json_depth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise InvalidInput("InvalidParameter", f"The body is nested deeper than {MAX_JSON_DEPTH} levels")
    return json.loads(text)


def json_depth(text: str, stop_after: int) -> int:
    """How deeply JSON text nests arrays and objects (brackets inside strings do not count), in one pass
    over its structural characters; counting stops once past `stop_after`. Not a validator: the parser
    refuses what is not JSON."""
    depth = deepest = 0
    in_string = False
    escaped_at = -1
    for match in _JSON_STRUCTURE.finditer(text):
        at, char = match.start(), match.group()
        if at == escaped_at:  # the character after a backslash in a string
            continue
        if in_string:
            if char == "\\":
                escaped_at = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > stop_after:
                    break
        elif char in "]}":
            depth -= 1
    return deepest
