"""The subscription web app: double opt-in, confirmation and one-click unsubscribe pages."""
