from cockpit.cli import app

app()
