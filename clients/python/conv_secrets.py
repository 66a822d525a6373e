"""agent-secrets for Python agent functions: one file, standard library only (Python 3.8+).

    from conv_secrets import connect, SecretNotFound, MissingAccess

    conv = connect()  # AGENT_SECRETS_AGENT_KEY, AGENT_SECRETS_URL (default http://127.0.0.1:8787)
    token = conv.utils.get_secret("booking_api_token")          # a str
    oauth = conv.utils.get_secret("oauth_client")               # a dict for key/value secrets
    conv.log.info("booked", {"table": 12})                      # values read are masked as ***

    # A brokered request: the vault fills in the value and sends it to the secret's allowed hosts only;
    # the function never holds it (the only way to use a broker-only secret).
    answer = conv.http.request("POST", "https://api.stripe.com/v1/charges",
                               headers={"Authorization": "Bearer {{secret:stripe_api_key}}"}, data={"amount": "100"})
    answer.status_code, answer.headers["content-type"], answer.json()    # every used value is *** in it

Every get_secret asks the service (no cache): a revoked grant or a new value holds from the next call.
Reads that get no answer (network, timeout, 502-504) are retried a few times with backoff; a 4xx never.

Run a function file (its `main(conv, args)` or `handler(conv, args)`) like `agent-secrets run` does:

    python3 conv_secrets.py my_function.py --args '{"guests": 2}'   # conv.env: the key's environment

Masking: a value shorter than 4 characters is not masked (it would mask everything and has no secrecy
to lose); longer values are masked as is, JSON-escaped, URL-encoded and base64-encoded (standard and
URL-safe, also inside a longer encoded text such as a Basic auth header). A value that is JSON text is
also masked field by field.
"""

import base64
import importlib.util
import json
import os
import random
import re
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

__all__ = [
    "connect", "Conv", "SecretsError", "SecretNotFound", "MissingAccess", "VaultUnreachable",
    "BrokerOnly", "HostNotAllowed", "UpstreamUnreachable", "UpstreamTimeout", "Response",
    "Masker", "MASK", "MIN_MASKED_LENGTH",
]

DEFAULT_URL = "http://127.0.0.1:8787"
ENVS = ("sandbox", "pre-release", "live")
MASK = "***"
MIN_MASKED_LENGTH = 4


# ---------------------------------------------------------------- errors

class SecretsError(Exception):
    """Any failure of a run-time call. Carries the service's code and message; never a value or key."""

    def __init__(self, message, code, status, secret=None, agent=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.secret = secret
        self.agent = agent

    def __str__(self):
        return self.message


class SecretNotFound(SecretsError):
    """The account has no secret of that name. `suggestion` is the service's "did you mean"."""

    def __init__(self, message, status, secret, agent=None):
        super().__init__(message, "SecretNotFound", status, secret, agent)
        marker = 'Did you mean "'
        at = message.find(marker)
        self.suggestion = message[at + len(marker):message.find('"', at + len(marker))] if at != -1 else None


class MissingAccess(SecretsError):
    """The secret exists but this agent is not on its access list."""

    def __init__(self, message, status, secret, agent=None):
        super().__init__(message, "MissingAccess", status, secret, agent)


class VaultUnreachable(SecretsError):
    """No answer from agent-secrets (connection refused, DNS, timeout) after the bounded retries."""

    def __init__(self, message, reason, secret=None, agent=None):
        super().__init__(message, "unreachable", 0, secret, agent)
        self.reason = reason


# ---------------------------------------------------------------- masking

class BrokerOnly(SecretsError):
    """The secret is broker-only: use it in conv.http.request, which never hands its value out."""

    def __init__(self, message, status, secret=None, agent=None):
        super().__init__(message, "BrokerOnly", status, secret, agent)


class HostNotAllowed(SecretsError):
    """The URL's host is not allowed by every secret the request uses (or is private). Nothing was sent."""

    def __init__(self, message, status, secret=None, agent=None):
        super().__init__(message, "HostNotAllowed", status, secret, agent)


class UpstreamUnreachable(SecretsError):
    """The vault got no usable answer from the upstream (connection, certificate, size)."""

    def __init__(self, message, status, secret=None, agent=None):
        super().__init__(message, "UpstreamUnreachable", status, secret, agent)


class UpstreamTimeout(SecretsError):
    """The upstream did not answer in time."""

    def __init__(self, message, status, secret=None, agent=None):
        super().__init__(message, "UpstreamTimeout", status, secret, agent)


def _error_for_code(code, message, status, secret=None, agent=None):
    """The client's error class for a service refusal, one table for the HTTP client and the channel."""
    if code == "SecretNotFound" and secret is not None:
        return SecretNotFound(message, status, secret, agent)
    if code == "MissingAccess" and secret is not None:
        return MissingAccess(message, status, secret, agent)
    for kind in (BrokerOnly, HostNotAllowed, UpstreamUnreachable, UpstreamTimeout):
        if code == kind.__name__:
            return kind(message, status, secret, agent)
    return SecretsError(message, code, status, secret, agent)


def _secret_named(message):
    found = re.search(r'[Ss]ecret "([^"]+)"', message or "")
    return found.group(1) if found else None


def _json_leaves(value):
    text = value.strip()
    if not text or text[0] not in '[{"':
        return []
    try:
        parsed = json.loads(text)
    except ValueError:
        return []
    leaves = []

    def visit(node):
        if isinstance(node, str):
            leaves.append(node)
        elif isinstance(node, bool) or node is None:
            pass
        elif isinstance(node, (int, float)):
            leaves.append(json.dumps(node))
        elif isinstance(node, list):
            for item in node:
                visit(item)
        elif isinstance(node, dict):
            for item in node.values():
                visit(item)

    visit(parsed)
    return leaves


def _base64_forms(data):
    forms = []
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(data).decode("ascii")
        forms += [whole, whole.rstrip("=")]
        for offset in range(3):
            encoded = encode(b"\0" * offset + data).decode("ascii").rstrip("=")
            first = -(-offset * 8 // 6)
            end = (offset + len(data)) * 8 // 6
            if end > first:
                forms.append(encoded[first:end])
    return forms


def _lower_hex(text):
    return re.sub(r"%[0-9A-F]{2}", lambda match: match.group(0).lower(), text)


def _encodings(text):
    escaped = json.dumps(text, ensure_ascii=False)[1:-1]
    url_forms = [
        urllib.parse.quote(text, safe=""),
        urllib.parse.quote(text, safe="-_.!~*'()"),  # JavaScript's encodeURIComponent
        urllib.parse.quote_plus(text, safe=""),
        urllib.parse.quote(text),
    ]
    return [
        text, escaped, json.dumps(text)[1:-1],
        # Escaped twice (JSON text inside a JSON string), also after ASCII-only escaping the first time.
        json.dumps(escaped, ensure_ascii=False)[1:-1], json.dumps(json.dumps(text)[1:-1])[1:-1],
        *url_forms, *[_lower_hex(form) for form in url_forms],
        *_base64_forms(text.encode("utf-8")),
    ]


def masked_forms(value):
    """Each form in which `value` can stand in text, longest first."""
    forms = set()
    for text in {value, value.strip(), *_json_leaves(value)}:
        if len(text) < MIN_MASKED_LENGTH:
            continue
        forms.update(form for form in _encodings(text) if len(form) >= MIN_MASKED_LENGTH)
    return sorted(forms, key=len, reverse=True)


class Masker:
    """The values read so far; mask(text) replaces each of their forms by ***."""

    def __init__(self):
        self._known = set()
        self._forms = []

    def remember(self, value):
        values = [value] if isinstance(value, str) else list(value.values())
        new = [one for one in values if isinstance(one, str) and one not in self._known]
        if new:
            self._known.update(new)
            self._forms = sorted({form for one in self._known for form in masked_forms(one)}, key=len, reverse=True)

    def mask(self, text):
        ranges = []
        for form in self._forms:
            at = text.find(form)
            while at != -1:
                ranges.append([at, at + len(form)])
                at = text.find(form, at + 1)
        if not ranges:
            return text
        ranges.sort()
        merged = [ranges[0]]
        for start, end in ranges[1:]:
            if start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        out, at = [], 0
        for start, end in merged:
            out += [text[at:start], MASK]
            at = end
        out.append(text[at:])
        return "".join(out)


# ---------------------------------------------------------------- the run-time API

def _printable_url(url):
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    port = ":%d" % parts.port if parts.port else ""
    return "%s://%s%s%s" % (parts.scheme, host, port, parts.path.rstrip("/"))


def _origin(url):
    parts = urllib.parse.urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return (parts.scheme, (parts.hostname or "").lower(), parts.port or default)


class _SameOriginCredentials(urllib.request.HTTPRedirectHandler):
    """Follows redirects as urllib does, but a redirect to another origin (scheme, host or port) goes
    without the Authorization header, as fetch does: the agent key is for agent-secrets alone."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and _origin(new.full_url) != _origin(req.full_url):
            for name in [name for name in new.headers if name.lower() == "authorization"]:
                del new.headers[name]
            new.unredirected_hdrs.pop("Authorization", None)
        return new


_OPENER = urllib.request.build_opener(_SameOriginCredentials())


class RuntimeClient:
    RETRIED_STATUSES = (502, 503, 504)

    def __init__(self, agent_key, url=None, timeout=5.0, attempts=3, backoff=0.1):
        self.agent_key = agent_key
        self.url = (url or DEFAULT_URL).rstrip("/")
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.backoff = backoff

    def _get(self, path, secret=None, agent=None, post=None, attempts=None, timeout=None):
        where = _printable_url(self.url)
        if not self.agent_key or any(c.isspace() for c in self.agent_key):
            raise SecretsError("Set AGENT_SECRETS_AGENT_KEY to the agent's key (one word, no spaces).", "unauthenticated", 0, secret, agent)
        failure = None
        tries = attempts or self.attempts
        wait = timeout or self.timeout
        for attempt in range(1, tries + 1):
            if attempt > 1:
                time.sleep(self.backoff * 2 ** (attempt - 2) * (0.5 + random.random()))
            headers = {"Authorization": "Bearer " + self.agent_key, "Accept": "application/json"}
            if post is not None:
                headers["Content-Type"] = "application/json"
            request = urllib.request.Request(self.url + path, headers=headers, data=None if post is None else post.encode("utf-8"), method="GET" if post is None else "POST")
            try:
                with _OPENER.open(request, timeout=wait) as response:
                    status, text = response.status, response.read().decode("utf-8")
            except urllib.error.HTTPError as error:
                status, text = error.code, error.read().decode("utf-8", "replace")
            except (TimeoutError, OSError) as error:
                reason = getattr(error, "reason", error)
                timed_out = isinstance(reason, TimeoutError) or "timed out" in str(reason)
                failure = ("timeout", "timeout") if timed_out else ("network", type(reason).__name__)
                continue
            failure = None
            try:
                body = json.loads(text) if text else None
            except ValueError:
                raise SecretsError("%s answered %d with something that is not JSON; is AGENT_SECRETS_URL right?" % (where, status), "bad_response", status, secret, agent)
            # A brokered request's 502 or 504 is the upstream's failure: an answer, never retried.
            if post is None and status in self.RETRIED_STATUSES and attempt < tries:
                continue
            return status, body
        if failure[0] == "timeout":
            message = "agent-secrets at %s did not answer within %gs (%d attempts)." % (where, wait, tries)
        else:
            message = "cannot reach agent-secrets at %s (%s) after %d attempts; is it running, and is AGENT_SECRETS_URL right?" % (where, failure[1], tries)
        raise VaultUnreachable(message, failure[0], secret, agent)

    @staticmethod
    def _refusal(status, body, secret=None, agent=None):
        error = (body or {}).get("error") or {} if isinstance(body, dict) else {}
        code = error.get("code") or "error"
        message = error.get("message") or "agent-secrets answered HTTP %d." % status
        return _error_for_code(code, message, status, secret if secret is not None else _secret_named(message), agent)

    def read_secret(self, name, agent=None):
        if not isinstance(name, str) or not name:
            raise SecretsError('get_secret needs the secret\'s name, e.g. get_secret("stripe_api_key").', "invalid_input", 0, name, agent)
        status, body = self._get("/runtime/v1/secrets/" + urllib.parse.quote(name, safe=""), name, agent)
        if status != 200:
            raise self._refusal(status, body, name, agent)
        return body

    def list_readable_secrets(self):
        status, body = self._get("/runtime/v1/secrets")
        if status != 200:
            raise self._refusal(status, body)
        return body

    def send_request(self, request):
        """One brokered request (POST /runtime/v1/requests), never retried: the upstream may have acted."""
        wait = request.get("timeoutMs", 30000) / 1000.0 + 5
        status, body = self._get("/runtime/v1/requests", post=json.dumps(request), attempts=1, timeout=wait)
        if status != 200:
            raise self._refusal(status, body)
        return body


class _ChannelClient:
    """The run-time API as `agent-secrets run` answers it over its function channel (a descriptor it
    hands the function's process): the runner holds the agent key and asks the service for each read,
    so this process never holds the key."""

    agent_key = None
    url = "agent-secrets run"

    def __init__(self, fd):
        self._socket = socket.socket(fileno=fd)
        self._lines = self._socket.makefile("rb")
        self._lock = threading.Lock()
        self._next = 1

    def send(self, message):
        self._socket.sendall((json.dumps(message) + "\n").encode("utf-8"))

    def receive(self):
        line = self._lines.readline()
        if not line:
            raise SecretsError("the runner closed the function channel", "channel_closed", 0)
        return json.loads(line)

    def _ask(self, message):
        with self._lock:
            ask = dict(message, id=self._next)
            self._next += 1
            self.send(ask)
            answer = self.receive()
            while answer.get("type") != "answer" or answer.get("id") != ask["id"]:
                answer = self.receive()
        if answer.get("ok"):
            return answer["body"]
        raise _from_wire(answer.get("error") or {})

    def read_secret(self, name, agent=None):
        if not isinstance(name, str) or not name:
            raise SecretsError('get_secret needs the secret\'s name, e.g. get_secret("stripe_api_key").', "invalid_input", 0, name, agent)
        return self._ask({"type": "read", "name": name})

    def list_readable_secrets(self):
        return self._ask({"type": "list"})

    def send_request(self, request):
        return self._ask({"type": "request", "request": request})


def _from_wire(error):
    """The error the function would have got had it asked the service itself."""
    message, code, status = error.get("message") or "agent-secrets refused.", error.get("code") or "error", error.get("status") or 0
    secret, agent = error.get("secret"), error.get("agent")
    if code == "unreachable":
        return VaultUnreachable(message, error.get("reason") or "network", secret, agent)
    return _error_for_code(code, message, status, secret, agent)


# ---------------------------------------------------------------- the conv object

def _identifier(name):
    snake = "".join(c if c.isalnum() or c == "_" else "_" for c in name).lower()
    return snake if snake[:1].isalpha() or snake[:1] == "_" else "secret_" + snake


def _printable(value, indent=None):
    return json.dumps(value, default=lambda item: repr(item) if not isinstance(item, BaseException) else {"name": type(item).__name__, "message": str(item)}, ensure_ascii=False, indent=indent)


class _Utils:
    def __init__(self, conv):
        self._conv = conv

    def get_secret(self, name):
        """The current value: a str, or a new dict for a key/value secret. Asks the service every time."""
        secret = self._conv._client.read_secret(name, self._conv.agent)
        value = secret["value"]
        # Remembered before the function sees it: from here on every output path masks it.
        self._conv._masker.remember(value)
        return value if isinstance(value, str) else dict(value)

    getSecret = get_secret

    def list_secrets(self):
        """Names, kinds, keys and descriptions of the secrets this agent can read, with a snippet each."""
        secrets = self._conv._client.list_readable_secrets()["secrets"]
        for secret in secrets:
            if secret.get("delivery") == "broker-only":
                # Never readable: the snippet is a brokered request to its first allowed host.
                host = (secret.get("allowedHosts") or ["api.example.com"])[0].replace("*.", "api.", 1)
                key = "." + secret["keys"][0] if secret["kind"] == "kv" and secret["keys"] else ""
                secret["snippet"] = 'response = conv.http.request("GET", %s, headers={"authorization": %s})' % (
                    json.dumps("https://%s/" % host), json.dumps("Bearer {{secret:%s%s}}" % (secret["name"], key)))
                continue
            keys = "  # keys: " + ", ".join(secret["keys"]) if secret["kind"] == "kv" else ""
            secret["snippet"] = '%s = conv.utils.get_secret(%s)%s' % (_identifier(secret["name"]), json.dumps(secret["name"]), keys)
        return secrets


class Response:
    """A brokered request's answer: status_code, headers (keys in lower case), text, content, json().
    Every secret value the request used is *** in it."""

    def __init__(self, answer):
        self.status_code = answer["status"]
        self.headers = {name.lower(): value for name, value in (answer.get("headers") or {}).items()}
        body = answer.get("body") or ""
        self.content = base64.b64decode(body) if answer.get("bodyEncoding") == "base64" else body.encode("utf-8")
        self.text = self.content.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.text)

    def __repr__(self):
        return "<Response [%d]>" % self.status_code


_PLACEHOLDER_ESCAPED = re.compile(r"%7B%7Bsecret%3A(.*?)%7D%7D", re.IGNORECASE)


class _Http:
    """conv.http: requests that use secrets without holding them ({{secret:NAME}}, {{secret:NAME.KEY}}
    in the query, header values and body); the vault fills them in and scrubs the answer."""

    def __init__(self, conv):
        self._conv = conv

    def request(self, method, url, headers=None, json=None, data=None, timeout=None):
        """Sends one brokered request; a redirect is answered, never followed.
        Raises HostNotAllowed, UpstreamUnreachable, UpstreamTimeout, SecretNotFound, MissingAccess, VaultUnreachable."""
        request = {"method": str(method).upper(), "url": str(url), "headers": {str(k): str(v) for k, v in (headers or {}).items()}}
        names = {name.lower() for name in request["headers"]}
        if json is not None:
            request["body"] = _json_text(json)
            if "content-type" not in names:
                request["headers"]["Content-Type"] = "application/json"
        elif isinstance(data, dict):
            # urlencode would escape a placeholder's braces: put them back as they were written.
            encoded = urllib.parse.urlencode(data)
            request["body"] = _PLACEHOLDER_ESCAPED.sub(lambda m: "{{secret:%s}}" % urllib.parse.unquote_plus(m.group(1)), encoded)
            if "content-type" not in names:
                request["headers"]["Content-Type"] = "application/x-www-form-urlencoded"
        elif isinstance(data, (bytes, bytearray)):
            request["body"] = base64.b64encode(bytes(data)).decode("ascii")
            request["bodyEncoding"] = "base64"
        elif data is not None:
            request["body"] = str(data)
        if timeout is not None:
            request["timeoutMs"] = int(float(timeout) * 1000)
        return Response(self._conv._client.send_request(request))


def _json_text(value):
    return json.dumps(value)


class _Log:
    def __init__(self, masker, stream):
        self._masker = masker
        self._stream = stream

    def _write(self, level, message, fields):
        text = message if isinstance(message, str) else _printable(message)
        line = "[%s] %s" % (level, self._masker.mask(text))
        if fields:
            line += " " + self._masker.mask(_printable(fields))
        self._stream.write(line + "\n")
        self._stream.flush()

    def info(self, message, fields=None):
        self._write("info", message, fields)

    def warning(self, message, fields=None):
        self._write("warning", message, fields)

    def error(self, message, fields=None):
        self._write("error", message, fields)


class Conv:
    """What a function receives: conv.utils, conv.http, conv.log, conv.env, conv.agent, conv.account."""

    def __init__(self, client, agent, account, env="sandbox", masker=None, log_stream=None):
        self._client = client
        self._masker = masker or Masker()
        if client.agent_key:
            self._masker.remember(client.agent_key)
        self.agent = agent
        self.account = account
        self.env = env
        self.utils = _Utils(self)
        self.http = _Http(self)
        self.log = _Log(self._masker, log_stream or sys.stderr)

    def mask(self, text):
        """The text with every value read so far masked."""
        return self._masker.mask(text)


def connect(agent_key=None, url=None, env=None, log_stream=None, timeout=5.0, attempts=3):
    """A conv object for an agent key (default: AGENT_SECRETS_AGENT_KEY at AGENT_SECRETS_URL).
    Asks the service once who the agent is and where it runs: conv.env is the key's environment.
    `env` (or AGENT_SECRETS_ENV), when given, is a check: a key of another environment fails here,
    like a bad key or an unreachable service."""
    client = RuntimeClient(agent_key or os.environ.get("AGENT_SECRETS_AGENT_KEY", ""), url or os.environ.get("AGENT_SECRETS_URL") or DEFAULT_URL, timeout=timeout, attempts=attempts)
    identity = client.list_readable_secrets()
    expected = env or os.environ.get("AGENT_SECRETS_ENV")
    if expected is not None and expected not in ENVS:
        raise ValueError("env must be one of " + ", ".join(ENVS))
    actual = identity.get("environment")
    if actual not in ENVS:
        raise SecretsError("the service did not say the agent key's environment; it may be older than this client", "bad_answer", 200)
    if expected is not None and expected != actual:
        raise environment_mismatch(expected, actual)
    return Conv(client, identity["agent"], identity["account"], actual, log_stream=log_stream)


def environment_mismatch(asked, key_environment):
    """A caller asked for one environment with a key of another: the key decides (the same words as the TypeScript SDK)."""
    return SecretsError(
        "the agent key is a %s key, so its functions run in %s, not %s: drop the environment option (the key says where it runs) or use a %s key of the agent"
        % (key_environment, key_environment, asked, asked),
        "environment_mismatch",
        0,
    )


# ---------------------------------------------------------------- running a function file

class _MaskedStream:
    """Stands in for sys.stdout / sys.stderr while a function runs: what it prints is masked."""

    def __init__(self, masker, target):
        self._masker = masker
        self._target = target
        self._line = ""

    def write(self, text):
        # Masked a line at a time, so that a value printed in two pieces is still masked.
        self._line += text
        if "\n" in self._line:
            done, self._line = self._line.rsplit("\n", 1)
            self._target.write(self._masker.mask(done + "\n"))
        return len(text)

    def flush(self):
        if self._line:
            self._target.write(self._masker.mask(self._line))
            self._line = ""
        self._target.flush()


def _remember_fetch_origins():
    """Wraps urlopen so that a failure to reach an upstream remembers its origin (the error does not say)."""
    original = urllib.request.urlopen

    def urlopen(url, *args, **kwargs):
        try:
            return original(url, *args, **kwargs)
        except urllib.error.URLError as error:
            if not isinstance(error, urllib.error.HTTPError):
                try:
                    parts = urllib.parse.urlsplit(url.full_url if isinstance(url, urllib.request.Request) else str(url))
                    # The origin only: a path or query may hold what the function would rather not print.
                    error.agent_secrets_origin = "%s://%s" % (parts.scheme, parts.hostname + (":%d" % parts.port if parts.port else ""))
                except (TypeError, ValueError):
                    pass
            raise

    urllib.request.urlopen = urlopen


def _failure_line(error, verbose):
    """A failed run as one line, as the TypeScript host says it (src/sdk/failures.ts); the stack with --verbose."""
    import errno
    import traceback

    head = "agent-secrets: function failed: "
    unreachable = isinstance(error, urllib.error.URLError) and not isinstance(error, urllib.error.HTTPError)
    if unreachable:
        reason = error.reason
        code = errno.errorcode.get(getattr(reason, "errno", None) or 0)
        why = "%s: %s" % (code, getattr(reason, "strerror", None) or reason) if code else str(reason)
        head += "cannot reach %s (%s)" % (getattr(error, "agent_secrets_origin", "an upstream"), why)
        if not verbose:
            return head + "\n"
    else:
        head += "%s: %s" % (type(error).__name__, error)
    if isinstance(error, SecretsError):
        return head + "\n"
    # The host's own frame (this file calling the function) is not the author's to read.
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if os.path.abspath(frame.filename) != os.path.abspath(__file__)]
    if verbose:
        return head + "\n" + "".join(traceback.format_list(frames))
    if frames:
        return head + " (at %s:%d; run --verbose for the stack)\n" % (frames[-1].filename, frames[-1].lineno)
    return head + "\n"


def _run(argv):
    import argparse

    parser = argparse.ArgumentParser(prog="conv_secrets.py", description="Run one Python agent function: main(conv, args) or handler(conv, args).")
    parser.add_argument("file", nargs="?")
    parser.add_argument("--args", default="{}", help="the arguments, as JSON; - reads them from standard input")
    parser.add_argument("--env", default=None, choices=ENVS, help="check that the agent key is a key of this environment")
    parser.add_argument("--verbose", action="store_true", help="when the function fails, show the whole stack")
    # `agent-secrets run` hands the function channel over on this descriptor (see src/sdk/hostChannel.ts).
    parser.add_argument("--channel-fd", type=int, default=None, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)

    real_stdout, real_stderr = sys.stdout, sys.stderr
    if options.channel_fd is not None:
        client = _ChannelClient(options.channel_fd)
        client.send({"type": "hello"})
        run = client.receive()
        file, args = run["file"], run["args"]
        verbose = run.get("verbose") is True
        conv = Conv(client, run["agent"], run["account"], run["env"] if run["env"] in ENVS else "sandbox", log_stream=real_stderr)

        def emit(text):
            client.send({"type": "result", "text": text})
    else:
        verbose = options.verbose
        if options.file is None:
            parser.error("give the function file")
        file = options.file
        try:
            args = json.loads(sys.stdin.read() if options.args == "-" else options.args)
        except ValueError:
            parser.error("--args must be JSON")
        try:
            conv = connect(env=options.env, log_stream=real_stderr)
        except SecretsError as error:
            real_stderr.write("agent-secrets: %s: %s\n" % (type(error).__name__, error))
            return 1
        # The function reaches the vault through conv only; what it starts does not inherit the key.
        os.environ.pop("AGENT_SECRETS_AGENT_KEY", None)

        def emit(text):
            real_stdout.write(text + "\n")

    masked = _MaskedStream(conv._masker, real_stderr)
    _remember_fetch_origins()
    try:
        spec = importlib.util.spec_from_file_location("agent_function", file)
        if spec is None or spec.loader is None:
            raise ImportError("cannot load " + file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        function = getattr(module, "main", None) or getattr(module, "handler", None)
        if not callable(function):
            raise TypeError(file + " must define main(conv, args) or handler(conv, args)")
        sys.stdout = sys.stderr = masked
        result = function(conv, args)
    except Exception as error:  # noqa: BLE001 - a function's failure is reported, whatever it is
        sys.stdout, sys.stderr = real_stdout, real_stderr
        masked.flush()
        real_stderr.write(conv.mask(_failure_line(error, verbose)))
        return 1
    sys.stdout, sys.stderr = real_stdout, real_stderr
    masked.flush()
    if result is not None:
        emit(conv.mask(_printable(result, indent=2)))
    return 0


if __name__ == "__main__":
    # A function's `from conv_secrets import SecretNotFound` must get these very classes, not a second copy.
    sys.modules.setdefault("conv_secrets", sys.modules[__name__])
    sys.exit(_run(sys.argv[1:]))
