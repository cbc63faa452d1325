"""Check `X-Twilio-Signature` on room status callbacks.

The signed URL is rebuilt from `PODIUM_PUBLIC_URL`, never from the Host header or
the request's own scheme: behind nginx and a TLS terminator this service sees
`http://127.0.0.1:8003`, while Twilio signed `https://<public host>/webhooks/...`.
Trusting the Host header would also let a caller choose the URL being checked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from urllib.parse import urlparse

import falcon
from twilio.request_validator import RequestValidator, add_port, remove_port

from webhooks.form import Form

SIGNATURE_HEADER = 'X-Twilio-Signature'

logger = logging.getLogger(__name__)


class _FormValues:
    """Expose every value of a field to RequestValidator (it calls `getlist`)."""

    def __init__(self, form: Form):
        self._form = form

    def __iter__(self):
        return iter(self._form)

    def __bool__(self) -> bool:
        return bool(self._form)

    def getlist(self, name: str) -> list[str]:
        return self._form[name]


class TwilioSignature:
    """Validate callback signatures with the account Auth Token."""

    def __init__(self, public_url: str, auth_token: str):
        self._public_url = public_url.rstrip('/')
        self._validator = RequestValidator(auth_token)
        self._key = auth_token.encode('utf-8')
        # twilio's RequestValidator parses the URL and signs it twice (with and
        # without the port) on every callback. The origin is always ours, so its
        # two spellings are worked out once, the way twilio-python does it.
        origin = urlparse(self._public_url)
        self._origins = tuple(
            dict.fromkeys([remove_port(origin), add_port(origin)])  # unique, in order
        )

    def _matches(self, req: falcon.Request, form: Form, signature: str) -> bool:
        """Return whether `signature` signs the form at one of our URL spellings.

        The same HMAC-SHA1 as twilio's RequestValidator: the URL, then every field
        name followed by its value, sorted by name, each distinct value sorted.
        """
        fields = ''.join(
            name + value for name in sorted(form) for value in sorted(set(form[name]))
        )
        rest = req.path + ('?' + req.query_string if req.query_string else '')
        expected = signature.encode('utf-8', 'replace')
        for origin in self._origins:
            message = (origin + rest + fields).encode('utf-8')
            digest = hmac.digest(self._key, message, hashlib.sha1)
            if hmac.compare_digest(base64.b64encode(digest), expected):
                return True
        # Anything our shortcut might spell differently from twilio-python (such
        # as odd URL normalisation): ask twilio's validator before refusing.
        return self._validator.validate(
            self.signed_url(req), _FormValues(form), signature
        )

    def signed_url(self, req: falcon.Request) -> str:
        """Return the URL Twilio signed: the public origin, this path and query."""
        url = self._public_url + req.path
        if req.query_string:
            url += '?' + req.query_string
        return url

    def verify(self, req: falcon.Request, form: Form) -> None:
        """Raise 403 unless the request carries a valid signature over `form`."""
        signature = req.get_header(SIGNATURE_HEADER)
        if not signature:
            logger.warning(
                'rejected callback to %s: no %s header', req.path, SIGNATURE_HEADER
            )
            raise falcon.HTTPForbidden(
                title='Missing signature',
                description=(
                    f'Room status callbacks must carry an {SIGNATURE_HEADER} header.'
                ),
            )
        if not self._matches(req, form, signature):
            logger.warning(
                'rejected callback to %s: signature does not match', req.path
            )
            raise falcon.HTTPForbidden(
                title='Invalid signature',
                description=(
                    f'{SIGNATURE_HEADER} does not match this request. The server '
                    'checks it with TWILIO_AUTH_TOKEN against PODIUM_PUBLIC_URL plus '
                    'the request path.'
                ),
            )


async def verify_signature(req: falcon.Request, resp, resource, params) -> None:
    """Falcon hook: check the signature over `params['form']` with `resource.signature`.

    Runs after `webhooks.form.read_form`, which supplies the form.
    """
    resource.signature.verify(req, params['form'])
