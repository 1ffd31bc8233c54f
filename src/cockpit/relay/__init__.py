"""The relay: the one public service between Twilio and the users' hosts."""
