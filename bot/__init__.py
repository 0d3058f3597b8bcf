"""dutybot: party-building duty records, nudges and digests over Telegram."""

__version__ = "0.1.0"
