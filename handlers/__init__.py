"""The Telegram adapter: PTB handlers that read an Update, call a service in bot/, and reply."""
