"""Provisioning of per-user agent hosts: local subprocess, container, (later) Fly."""
