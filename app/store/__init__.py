"""Every SQL query, as plain functions taking a Session first and keyword arguments after."""
