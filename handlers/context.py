"""The typed callback context every handler receives: `context.bot_data` is the Services object."""

from __future__ import annotations

from telegram.ext import CallbackContext, ExtBot

from bot.services import Services

Ctx = CallbackContext[ExtBot[None], dict, dict, Services]
