"""The producer studio: the admin's custom pages, widgets, templates and scripts for shows and episodes."""
