"""The servers a benchmark needs besides the relay, each run as `python -m bench.servers KIND`.

- `bare`: the baseline, a FastAPI app whose `POST /twilio/messages` only checks
  Twilio's signature with the `twilio` library's `RequestValidator` and answers
  the same empty TwiML as the relay; nothing is parsed further or stored.
- `simulator`: the phone simulator (a stand-in for Twilio's Messages API), which
  receives the relay's echo replies and posts their status callbacks back.

Both run under `uvicorn.run` with the same defaults as `cockpit relay`.
"""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI, HTTPException, Request, Response
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from cockpit.channels.simulator import PhoneSimulator, create_simulator_app
from cockpit.config import Settings

WEBHOOK_PATH = "/twilio/messages"


def create_bare_app(public_url: str, auth_token: str) -> FastAPI:
    """The baseline: verify the signature of `POST /twilio/messages`, answer empty TwiML."""
    validator = RequestValidator(auth_token)
    signed_url = f"{public_url}{WEBHOOK_PATH}"
    twiml = str(MessagingResponse())
    app = FastAPI(title="bare Twilio webhook")

    @app.post(WEBHOOK_PATH)
    async def inbound(request: Request) -> Response:
        form = await request.form()
        params = {key: str(value) for key, value in form.items()}
        signature = request.headers.get("x-twilio-signature", "")
        if not validator.validate(signed_url, params, signature):
            raise HTTPException(403, "invalid or missing X-Twilio-Signature")
        return Response(twiml, media_type="text/xml")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def create_simulator(args: argparse.Namespace) -> FastAPI:
    """The phone simulator as a standalone app, posting back to the relay at `--relay-url`."""
    simulator = PhoneSimulator(
        account_sid=args.account_sid,
        auth_token=args.auth_token,
        whatsapp_from=args.whatsapp_from,
        webhook_url=f"{args.relay_url}{WEBHOOK_PATH}",
    )
    app = create_simulator_app(simulator)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of `python -m bench.servers`."""
    parser = argparse.ArgumentParser(prog="python -m bench.servers")
    parser.add_argument("kind", choices=["bare", "simulator"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--auth-token", required=True)
    parser.add_argument("--public-url", help="bare: the URL the requests are signed for")
    parser.add_argument("--account-sid", default="")
    parser.add_argument("--whatsapp-from", default="")
    parser.add_argument("--relay-url", default="", help="simulator: where the relay listens")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Serve the chosen app on 127.0.0.1 until SIGTERM or Ctrl-C."""
    args = parse_args(argv)
    public_url = args.public_url or f"http://127.0.0.1:{args.port}"
    app = (
        create_bare_app(public_url, args.auth_token)
        if args.kind == "bare"
        else create_simulator(args)
    )
    keep_alive = Settings.model_fields["keep_alive_seconds"].default  # as `cockpit relay`
    uvicorn.run(
        app, host="127.0.0.1", port=args.port, log_level="warning", timeout_keep_alive=keep_alive
    )


if __name__ == "__main__":
    main()
