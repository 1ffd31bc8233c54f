"""Messaging channels: Twilio's WhatsApp API and the phone simulator that mimics it."""
