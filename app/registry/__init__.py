"""The registry of actors and topics: its writes (`edits`), what they reach (`reach`), and the snapshot extraction reads (`context`)."""
