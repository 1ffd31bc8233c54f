"""GitHub, one feature in one folder: webhook, worker, REST and OAuth clients, commands.

`routes` takes `POST /github/webhook` (verify and keep); `worker` turns kept deliveries
into messages; `commands` runs `fix` and `/pr`; `api` and `oauth` are the two HTTP
clients of GitHub; `link` creates a repository's webhook for `cockpit github link --create-hook`.
The rows live in `store/github.py`, the pure parsing of payloads in `core/github_events.py`.
"""
