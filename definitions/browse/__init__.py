"""The raw data browser: captured interactions, their details, top interactions, users and timelines."""
