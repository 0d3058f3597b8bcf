"""Text as every database can hold it (see storage.text): the domain cleans what it parses."""

from storage.text import storable

__all__ = ["storable"]
