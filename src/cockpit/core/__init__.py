"""Plain data and rules, no I/O: messages, phone numbers, WhatsApp formatting."""
