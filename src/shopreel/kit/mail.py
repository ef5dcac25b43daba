"""Outgoing mail. No SMTP server ships with ShopReel: the default transport writes each
message as an ``.eml`` file into the recipient's home-region outbox folder, which an
operator's relay (or a developer) picks up. Messages hold personal data, so the folder is
per region and created 0700."""

from __future__ import annotations

import os
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from shopreel.kit.ids import new_id


class Mailer(Protocol):
    def send(self, region: str, to: str, subject: str, body: str) -> str: ...


class FileOutbox:
    def __init__(self, directory: Path, sender: str = "ShopReel <no-reply@shopreel.test>") -> None:
        self.directory = directory
        self.sender = sender

    def send(self, region: str, to: str, subject: str, body: str) -> str:
        folder = self.directory / region
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        message_id = new_id("mail")
        path = folder / f"{message_id}.eml"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(bytes(message))
        return message_id
