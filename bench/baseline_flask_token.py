"""The baseline: a minimal Flask token endpoint of the kind Twilio's tutorials show.

    TWILIO_ACCOUNT_SID=... TWILIO_API_KEY_SID=... TWILIO_API_KEY_SECRET=... \
        gunicorn -w 1 -k sync bench.baseline_flask_token:app

One POST endpoint, no storage, no room check, no validation beyond a name: it
signs an Access Token with a VideoGrant and returns {token}. The benchmark runs
it under gunicorn with 1 sync worker, next to Podium's token service.
"""

import os
import uuid

from flask import Flask, request
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VideoGrant

app = Flask(__name__)

account_sid = os.environ['TWILIO_ACCOUNT_SID']
api_key_sid = os.environ['TWILIO_API_KEY_SID']
api_key_secret = os.environ['TWILIO_API_KEY_SECRET']


@app.route('/token', methods=['POST'])
def token():
    body = request.get_json(silent=True) or {}
    identity = body.get('name') or uuid.uuid4().hex
    access_token = AccessToken(
        account_sid, api_key_sid, api_key_secret, identity=identity
    )
    access_token.add_grant(VideoGrant(room=body.get('room', 'My Room')))
    return {'token': access_token.to_jwt()}
