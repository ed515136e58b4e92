"""One message, one SMTP conversation: the transport the mail worker (ops/mail.py) uses.

What we know afterwards is the whole point: a failure before the last byte of the message
left is worth retrying; after it, without the server's reply, the outcome is unknown and the
message must never be sent again.
"""

from __future__ import annotations

import contextlib
import email.policy
import email.utils
import logging
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage as MimeMessage
from enum import StrEnum
from urllib.parse import parse_qs, unquote, urlsplit

from ..settings import get_settings

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 15.0  # seconds, for each socket operation


# ---------------------------------------------------------------------------------------------
# Configuration


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    tls: bool = False  # smtps: TLS from the first byte
    starttls: bool = False
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = DEFAULT_TIMEOUT


_YES = ("1", "true", "yes", "on")


def parse_smtp_url(url: str) -> SmtpConfig:
    """`smtp://[user:pass@]host[:port][?starttls=1]` or `smtps://[user:pass@]host[:port]`;
    `timeout=<seconds>` may be added to either. Errors never repeat the URL (it may hold a
    password)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("CME_SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("CME_SMTP_URL has no host")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("CME_SMTP_URL has an invalid port") from None
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    try:
        timeout = float(query.get("timeout", DEFAULT_TIMEOUT))
    except ValueError:
        raise ValueError("CME_SMTP_URL has an invalid timeout") from None
    tls = parts.scheme == "smtps"
    return SmtpConfig(
        host=parts.hostname,
        port=port or (465 if tls else 25),
        tls=tls,
        starttls=not tls and query.get("starttls", "").lower() in _YES,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        timeout=timeout if timeout > 0 else DEFAULT_TIMEOUT,
    )


_said_once: set[str] = set()


def _once(level: int, text: str) -> None:
    """Log a configuration message once per process, not every round."""
    if text not in _said_once:
        _said_once.add(text)
        logger.log(level, text)


def smtp_config() -> SmtpConfig | None:
    url = get_settings().smtp_url
    if not url:
        _once(logging.INFO, "Email is not configured (CME_SMTP_URL is empty): it waits queued")
        return None
    try:
        return parse_smtp_url(url)
    except ValueError as exc:
        _once(logging.ERROR, f"Email is not sent: {exc}")
        return None


# ---------------------------------------------------------------------------------------------
# One message, one SMTP conversation


class Outcome(StrEnum):
    SENT = "sent"  # the server replied 250 to the end of the message
    RETRY = "retry"  # not delivered, and worth trying again
    REFUSED = "refused"  # not delivered, and the server said never (5xx)
    UNKNOWN = "unknown"  # the server has the message but we never heard its answer


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    reason: str = ""  # short and classified: a stage, a code, an exception type; no content


def _by_code(code: int, stage: str) -> Result:
    if 500 <= code < 600:
        return Result(Outcome.REFUSED, f"refused at {stage} ({code})")
    return Result(Outcome.RETRY, f"refused for now at {stage} ({code})")


def build_message(
    *, to: str, subject: str, body: str, message_id: str, mail_from: str, when: datetime
) -> bytes:
    """The message as sent: plain text, CRLF line ends."""
    msg = MimeMessage(policy=email.policy.SMTP)
    msg["From"] = mail_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(when)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    if body.isascii():
        msg.set_content(body)
    else:  # a staff name with an accent: no 8-bit body without asking the server
        msg.set_content(body, cte="quoted-printable")
    return msg.as_bytes()


def _dot_stuffed(data: bytes) -> bytes:
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _connect(config: SmtpConfig) -> smtplib.SMTP:
    if config.tls:
        return smtplib.SMTP_SSL(
            config.host,
            config.port,
            timeout=config.timeout,
            context=ssl.create_default_context(),
        )
    return smtplib.SMTP(config.host, config.port, timeout=config.timeout)


def send_message(config: SmtpConfig, *, sender: str, recipient: str, data: bytes) -> Result:
    """Drive one SMTP conversation and say what we know about the message afterwards."""
    try:
        client = _connect(config)
    except smtplib.SMTPConnectError as exc:
        return Result(Outcome.RETRY, f"server refused the connection ({exc.smtp_code})")
    except Exception as exc:  # nothing of the message has been sent
        return Result(Outcome.RETRY, f"could not connect ({type(exc).__name__})")
    try:
        return _converse(client, config, sender=sender, recipient=recipient, data=data)
    except Exception as exc:  # a surprise from smtplib: we cannot say how far it got
        return Result(Outcome.UNKNOWN, f"outcome unknown: unexpected {type(exc).__name__}")
    finally:
        client.close()


def _open(client: smtplib.SMTP, config: SmtpConfig) -> Result | None:
    """Greeting, TLS and login concern our set-up, not this message: retried, never final.
    None when the session is ready."""
    try:
        client.ehlo_or_helo_if_needed()
        if config.starttls:
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        if config.username:
            client.login(config.username, config.password)
    except smtplib.SMTPNotSupportedError:
        return Result(Outcome.RETRY, "the server does not offer STARTTLS or login")
    except smtplib.SMTPResponseException as exc:
        return Result(Outcome.RETRY, f"session refused ({exc.smtp_code})")
    except (OSError, smtplib.SMTPException) as exc:
        return Result(Outcome.RETRY, f"connection lost before sending ({type(exc).__name__})")
    return None


def _hand_over(client: smtplib.SMTP, *, sender: str, recipient: str, data: bytes) -> Result | None:
    """Envelope and message. Until the last byte has gone, the server cannot have accepted
    it, so any failure here is worth retrying. None when the whole message has gone."""
    try:
        for command, accepted, stage in (
            (lambda: client.mail(sender), (250,), "MAIL"),
            (lambda: client.rcpt(recipient), (250, 251), "RCPT"),
            (lambda: client.docmd("DATA"), (354,), "DATA"),
        ):
            code, _ = command()
            if code not in accepted:
                return _by_code(code, stage)
        client.send(_dot_stuffed(data))  # sendall: on failure the final "." never left
    except (OSError, smtplib.SMTPException) as exc:
        return Result(Outcome.RETRY, f"connection lost before sending ({type(exc).__name__})")
    return None


def _converse(
    client: smtplib.SMTP, config: SmtpConfig, *, sender: str, recipient: str, data: bytes
) -> Result:
    failed = _open(client, config) or _hand_over(
        client, sender=sender, recipient=recipient, data=data
    )
    if failed:
        return failed
    # The server has the whole message: without its reply we cannot know whether it took it.
    try:
        code, _ = client.getreply()
    except (OSError, smtplib.SMTPException) as exc:
        return Result(
            Outcome.UNKNOWN,
            f"outcome unknown: no reply after the message was sent ({type(exc).__name__})",
        )
    if code != 250:
        return _by_code(code, "end of DATA")
    with contextlib.suppress(OSError, smtplib.SMTPException):
        client.quit()  # accepted is accepted, whatever QUIT says
    return Result(Outcome.SENT)
