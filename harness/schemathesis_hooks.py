"""Schemathesis hooks for harness/server-checks: how to write an NDJSON request body.

The spec describes NDJSON bodies as strings; a generated string is sent as it is, and a
generated list (if a schema ever asks for one) as one JSON value per line."""
import json

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, list):
        return "".join(json.dumps(item) + "\n" for item in value).encode()
    return (json.dumps(value) + "\n").encode()
