"""TellOnce web application."""
